// What every benchmark of issue 16 prints beside its figures: the machine's
// load, PostgreSQL's durability settings, the CPU time that the server and
// PostgreSQL spent, and one "RESULT" line per figure with its ceiling
// measured in the same run and their ratio. scripts/bench collects the
// RESULT lines of every benchmark into one table (docs/benchmarks.md).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** "12.31 14.02 15.77" (1, 5, 15 minutes). */
export const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

export function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);
}

/** CPU seconds (user + system) used so far by "pid" and, with "children",
 * by its direct children too (PostgreSQL's backends under the postmaster;
 * backends that exited are not counted, the pools keep theirs open). */
export function cpuOf(pid, children = false) {
  const read = (p) => {
    try {
      const f = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return { ppid: Number(rest[1]), t: (Number(rest[11]) + Number(rest[12])) / 100 };
    } catch {
      return null;
    }
  };
  let t = read(pid)?.t || 0;
  if (children) {
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const x = read(d);
      if (x && x.ppid === pid) t += x.t;
    }
  }
  return t;
}

/** CPU seconds used so far by the PostgreSQL cluster of data folder
 * "dataDir": its postmaster's own, its children's that ended (cutime,
 * cstime: autovacuum workers, backends of closed connections) and its
 * living children's. */
export function clusterCpu(dataDir) {
  const pm = Number(fs.readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  const f = fs.readFileSync(`/proc/${pm}/stat`, 'utf8');
  const st = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(st[13]) + Number(st[14])) / 100 + cpuOf(pm, true);
}

/** A CPU meter of a server and a PostgreSQL cluster: meter.stop(n) gives
 * { server, pg, total } in microseconds per unit of work (n units). */
export function cpuMeter(serverPid, pgPid) {
  const s0 = cpuOf(serverPid);
  const p0 = pgPid ? cpuOf(pgPid, true) : 0;
  return {
    stop(n) {
      const server = ((cpuOf(serverPid) - s0) * 1e6) / n;
      // A backend that exits during the run takes its ticks out of the
      // sum: on routes that never reach PostgreSQL that read "-0 µs".
      const pg = pgPid ? Math.max(0, ((cpuOf(pgPid, true) - p0) * 1e6) / n) : 0;
      return { server, pg, total: server + pg };
    },
  };
}

/**
 * One figure for scripts/bench's table, printed as a line
 *   RESULT\t<name>\t<value>\t<unit>\t<ceiling name>\t<ceiling>\t<ratio>\t<target>\t<verdict>\t<notes>
 * "ratio" is value / ceiling (or null when there is no ceiling), "target"
 * a sentence such as ">= 0.6 of the ceiling", "verdict" met / NOT met / "".
 */
export function result(r) {
  const f = (x) => (x === null || x === undefined ? '' : String(x));
  const ratio = r.ratio ?? (r.ceiling ? r.value / r.ceiling : null);
  process.stdout.write(['RESULT', r.name, typeof r.value === 'number' ? +r.value.toPrecision(4) : r.value,
    r.unit, f(r.ceilingName), r.ceiling ? +Number(r.ceiling).toPrecision(4) : '',
    ratio === null ? '' : ratio.toFixed(2), f(r.target), f(r.verdict), f(r.notes)].join('\t') + '\n');
}

/** The context line of a benchmark: machine, load, PostgreSQL durability. */
export async function context(name, pg) {
  const dur = pg ? await pg.durability() : 'no PostgreSQL';
  const line = `${name}: ${new Date().toISOString()}, ${os.cpus().length} CPUs, load ${load()}; PostgreSQL ${dur}`;
  process.stdout.write(`${line}\n`);
  process.stdout.write(`CONTEXT\t${name}\t${load()}\t${dur}\n`);
  return dur;
}

/**
 * Run wrk; returns { rps, requests, p50, p90, p99, max (ms), non2xx, errors,
 * cpu: {server, pg, total} µs per request, wrkCpu } (cpu when "pids" is
 * given; wrkCpu, wrk's own user + system CPU per request, always).
 * wrk corrects its percentiles for coordinated omission (stats_correct():
 * below each reply slower than the run's mean interval per connection, it
 * adds one sample per interval, as if the requests a closed loop did not
 * send had waited too), so a handful of replies stalled for a second can
 * set a p99 of hundreds of ms in a run of 200 k requests; "max" is the
 * slowest reply as measured, which tells such a stall apart from a slow
 * route.
 * "args": extra wrk arguments (headers, -s script, ...); trailing(): the
 * script's own arguments ("--" and after), asked again for each run.
 * afterWarm(): after the warm-up, before the meter starts; afterRun(): after
 * the run, metered apart (cpuAfter: work the run left behind, per request).
 */
export async function wrk(url, { seconds = 10, conns = 50, threads = 2, args = [], pids = null,
  warm = 2, trailing = () => [], afterWarm = null, afterRun = null } = {}) {
  if (warm > 0) {
    await execFileP('wrk', ['-t1', `-c${conns}`, `-d${warm}s`, ...args, url, ...trailing()])
      .catch(() => {});
  }
  if (afterWarm) await afterWarm();
  const meter = pids ? cpuMeter(pids.server, pids.pg) : null;
  // wrk runs under a shell that prints its own /proc stat once wrk has
  // ended: its cutime and cstime are then wrk's CPU time (the load
  // generator shares the CPUs with the server and PostgreSQL).
  const { stdout, stderr } = await execFileP('sh', ['-c', 'wrk "$@"; s=$?; cat /proc/$$/stat >&2; exit $s',
    'wrk', `-t${threads}`, `-c${conns}`, `-d${seconds}s`, '--latency', ...args, url, ...trailing()],
  { maxBuffer: 1 << 24 });
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] || 0);
  const cpu = meter ? meter.stop(requests || 1) : null;
  const shStat = stderr.trim().split('\n').pop();
  const shRest = shStat.slice(shStat.lastIndexOf(')') + 2).split(' ');
  const wrkCpu = ((Number(shRest[13]) + Number(shRest[14])) / 100 * 1e6) / (requests || 1);
  let cpuAfter = null;
  if (afterRun) {
    const after = pids ? cpuMeter(pids.server, pids.pg) : null;
    await afterRun();
    cpuAfter = after ? after.stop(requests || 1) : null;
  }
  const ms = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+([0-9.]+)(us|ms|s)\\s*$`, 'm').exec(stdout);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
  };
  return {
    rps: Number(/Requests\/sec:\s+([0-9.]+)/.exec(stdout)?.[1] || 0),
    requests,
    p50: ms(50), p90: ms(90), p99: ms(99),
    max: (() => {
      const m = /^\s*Latency\s+\S+\s+\S+\s+([0-9.]+)(us|ms|s)\s/m.exec(stdout);
      return m ? Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1) : NaN;
    })(),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] || 0),
    errors: /Socket errors: (.*)/.exec(stdout)?.[1] || '',
    cpu,
    wrkCpu,
    cpuAfter,
    out: stdout,
  };
}

/** POST one ingest batch "body" (a string or Buffer of Content-Type "type")
 * with the app's credential through the keep-alive "agent"; resolves on
 * 201, rejects with the server's answer otherwise. */
export function postBatch(agent, url, credential, body, type = 'application/json', extra = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: '/api/v1/ingest/batches',
      method: 'POST', agent, headers: { Authorization: `Bearer ${credential}`, 'Content-Type': type,
        'Content-Length': Buffer.byteLength(body), ...extra } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 201) resolve();
        else reject(new Error(`ingest: ${res.statusCode} ${Buffer.concat(chunks).toString()}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
