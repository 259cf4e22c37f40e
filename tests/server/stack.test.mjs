// The server's own stack use on a request (issue #11, docs/server.md
// "Stack budget"). Debian's CivetWeb 1.15 runs every request on a worker
// thread with a fixed 100 KiB stack; a request that overflows it kills the
// whole process. GCC's -fcallgraph-info=su (server/CMakeLists.txt) writes,
// next to every object file, each function's frame size and its direct
// calls; this test joins them into one call graph and checks, from every
// request entry point (the API dispatcher, the route handlers it calls
// through its tables, CivetWeb's callbacks):
//   - no cycle among the server's own functions (no recursion on a request),
//   - no single frame above FRAME_MAX, and no dynamic (alloca/VLA) frame
//     that GCC cannot bound,
//   - the deepest chain of the server's own frames within PATH_MAX_BYTES.
// Calls into libraries (libpq, cJSON, OpenSSL, libc) end a chain: their cost
// is part of the room left for CivetWeb and the libraries. Only the native
// GCC build writes the graph; under another compiler the test is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { serverBin } from './harness.mjs';

export const FRAME_MAX = 8192;
export const PATH_MAX_BYTES = 32768;

// Functions that run only on a thread of the server's own (8 MiB default
// stacks) or at start-up, never on a CivetWeb worker: exempt from the frame
// limit. Each entry names why.
const OWN_THREAD = new Map([
  ['run_job', 'export worker thread (svc_export_worker.c)'],
  ['db_embed_start', 'start-up, before CivetWeb runs'],
  ['svc_export_cleanup', 'background jobs thread'],
  ['svc_drive_cleanup', 'background jobs thread'],
]);

function findCi(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findCi(p, out);
    else if (e.name.endsWith('.c.ci')) out.push(p);
  }
  return out;
}

/** { nodes: Map title -> {name, bytes, dynamic, where}, edges: Map title -> Set(target) } */
function loadGraph(files) {
  const nodes = new Map();
  const edges = new Map();
  const nodeRe = /^node: \{ title: "([^"]+)" label: "([^\\"]+)\\n([^\\"]+)(?:\\n(\d+) bytes \(([^)]+)\))?/;
  const edgeRe = /^edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"/;
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      let m = nodeRe.exec(line);
      if (m) {
        if (m[4] !== undefined) {
          nodes.set(m[1], { name: m[2], where: m[3], bytes: Number(m[4]),
            dynamic: m[5].includes('dynamic') && !m[5].includes('bounded') });
        }
        continue;
      }
      m = edgeRe.exec(line);
      if (m) {
        if (!edges.has(m[1])) edges.set(m[1], new Set());
        edges.get(m[1]).add(m[2]);
      }
    }
  }
  return { nodes, edges };
}

const buildDir = path.dirname(serverBin);
const files = findCi(buildDir);

test('no request path recurses or overflows the worker stack budget', { skip: files.length === 0 && 'no -fcallgraph-info output (not a GCC build)' }, () => {
  const { nodes, edges } = loadGraph(files);
  const byName = (title) => nodes.get(title);
  // Request entry points: the API dispatcher and everything it reaches
  // through a function pointer (route handlers h_*), and CivetWeb callbacks.
  const roots = [...nodes.keys()].filter((t) => {
    const n = nodes.get(t).name;
    return n === 'api_handler' || /^h_/.test(n) || /^cb_/.test(n);
  });
  assert.ok(roots.length > 100, `${roots.length} entry points found`);
  const dispatcher = [...nodes.keys()].find((t) => nodes.get(t).name === 'api_handler');
  assert.ok(dispatcher, 'api_handler is in the graph');

  const memo = new Map();
  const state = new Map(); // 1 = on the current chain, 2 = done
  const cycles = [];
  // The deepest chain of own frames from "t": { bytes, chain }.
  function deepest(t, chain) {
    if (memo.has(t)) return memo.get(t);
    if (state.get(t) === 1) {
      cycles.push([...chain.slice(chain.indexOf(t)), t].map((x) => byName(x)?.name || x));
      return { bytes: 0, chain: [] };
    }
    const node = byName(t);
    if (!node) return { bytes: 0, chain: [] }; // a library function
    state.set(t, 1);
    let best = { bytes: 0, chain: [] };
    for (const next of edges.get(t) || []) {
      const d = deepest(next, [...chain, t]);
      if (d.bytes > best.bytes) best = d;
    }
    state.set(t, 2);
    const r = { bytes: node.bytes + best.bytes, chain: [node.name, ...best.chain] };
    memo.set(t, r);
    return r;
  }

  const problems = [];
  let worst = { bytes: 0, chain: [] };
  for (const root of roots) {
    const base = /^h_/.test(byName(root).name) ? byName(dispatcher).bytes : 0;
    const d = deepest(root, []);
    if (base + d.bytes > worst.bytes) worst = { bytes: base + d.bytes, chain: d.chain };
  }
  // Every function reachable from a root: frame limits.
  const seen = new Set();
  const visit = (t) => {
    if (seen.has(t) || !byName(t)) return;
    seen.add(t);
    const n = byName(t);
    if (!OWN_THREAD.has(n.name)) {
      if (n.bytes > FRAME_MAX) problems.push(`${n.name} (${n.where}): a ${n.bytes}-byte frame`);
      if (n.dynamic) problems.push(`${n.name} (${n.where}): an unbounded dynamic frame`);
    }
    for (const next of edges.get(t) || []) visit(next);
  };
  roots.forEach(visit);
  for (const c of cycles) problems.push(`recursion: ${c.join(' -> ')}`);
  assert.deepEqual(problems, [], problems.join('\n'));
  assert.ok(worst.bytes <= PATH_MAX_BYTES,
    `the deepest request chain uses ${worst.bytes} bytes: ${worst.chain.join(' -> ')}`);
  console.log(`# deepest request chain: ${worst.bytes} bytes (${worst.chain.join(' -> ')}); ${seen.size} functions checked`);
});
