// The audit log's item names (docs/benchmarks.md "auditnames"): what the
// second statement of GET /api/v1/audit (db_audit_target_names(): the
// page's targets by name, of the account) costs a page of 50, on an account
// of BENCH_ENTRIES entries (200,000 by default) whose targets are of every
// kind the statement looks up (and a session, which it does not), some of
// them deleted since, and 20,000 channels, on a durable cluster. "before" is the page's list
// statement alone (main's GET /audit), "after" the same list and then the
// names statement with that page's kinds and ids (this build's); both
// PREPAREd and run BENCH_N times each (plan_cache_mode auto, as the
// server's prepared statements run), timed by clock_timestamp() around a
// PL/pgSQL loop, rounds alternated; then EXPLAIN (ANALYZE, BUFFERS) of the
// names statement (its plan in use and the generic plan). And the page
// through HTTP (GET /api/v1/audit?limit=50), BENCH_N requests one after
// the other, this build.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/audit_names_explain.mjs
import { startPostgres, startServer, createAccount, login } from '../server/harness.mjs';
import { readFileSync } from 'node:fs';

const ENTRIES = Number(process.env.BENCH_ENTRIES || 200000), N = Number(process.env.BENCH_N || 200);
const ROUNDS = 3;
const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase();
const db = new URL(url).pathname.slice(1);
const srv = await startServer({ databaseUrl: url });
const ids = await createAccount(srv.url, { account: 'benchnames', plan: 'pro', user: 'admin', password: 'Passw0rd-ok', email: 'a@b.test' });
const c = await login(srv.url, { account: 'benchnames', user: 'admin', password: 'Passw0rd-ok' });
const ok = (r) => { if (r.status >= 300) throw new Error(JSON.stringify(r.body)); return r.body; };
const group = ok(await c.post('/api/v1/groups', { name: 'Bench site' }));
const team = ok(await c.post('/api/v1/teams', { name: 'Bench team' }));
const app = ok(await c.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Bench gateway', group_id: group.id }));
const device = ok(await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'SN0001', name: 'Bench logger' }));
const chans = [];
for (let i = 1; i <= 10; i++) chans.push(ok(await c.post(`/api/v1/devices/${device.id}/channels`, { key: `CH${i}`, name: `Temperature ${i}`, unit: '°C' })).id);
const A = ids.accountId;
// Channels enough that a channel is read by its key, not by a scan of the
// table (BENCH_CHANNELS, 20,000 by default, on the instrument).
await pg.psql(`INSERT INTO channels (account_id, device_id, ch_key, name)
  SELECT ${A}, ${device.id}, 'B' || i, 'Bulk ' || i FROM generate_series(1, ${Number(process.env.BENCH_CHANNELS || 20000)}) i`, db);
// Entries a minute apart; their targets in turn: a channel (one of ten), a
// channel deleted since, the instrument, the group, the team, the app, the
// administrator, a session (not looked up), a dashboard deleted since, none.
await pg.psql(`INSERT INTO audit_log (account_id, at, actor_kind, user_id, actor_login, action, target_type, target_id, detail)
  SELECT ${A}, now() - make_interval(mins => ${ENTRIES} - i), 'user', ${ids.userId}, 'admin',
    (ARRAY['channel.update', 'channel.delete', 'device.update', 'group.update', 'team.update', 'app.update',
      'auth.login', 'auth.session_end', 'dashboard.delete', 'account.update'])[i % 10 + 1],
    (ARRAY['channel', 'channel', 'device', 'group', 'team', 'app', 'user', 'session', 'dashboard', NULL])[i % 10 + 1],
    (ARRAY[(ARRAY[${chans.join(',')}])[i % 10 + 1], 900000000 + i, ${device.id}, ${group.id}, ${team.id}, ${app.id},
      ${ids.userId}, 800000000 + i, 700000000 + i, NULL])[i % 10 + 1],
    '{}'::jsonb
  FROM generate_series(1, ${ENTRIES}) i`, db);
await pg.psql('VACUUM ANALYZE', db);

// The statements as this build has them (server/db/db_auth.c).
const src = readFileSync(new URL('../../server/db/db_auth.c', import.meta.url), 'utf8');
const cstr = (name) => {
  const m = src.match(new RegExp(`static db_stmt ${name} = \\{"[a-z_]+",([\\s\\S]*?),\\s*0\\};`));
  if (!m) throw new Error(`no ${name}`);
  return m[1];
};
// Expand the C string literals and the AUDIT_ macros the two statements use.
const macros = {};
for (const m of src.matchAll(/#define (AUDIT_[A-Z_]+)(\([a-z, ]+\))? ((?:[^\n]*\\\n)*[^\n]*)/g)) {
  macros[m[1]] = { args: m[2] ? m[2].slice(1, -1).split(',').map((x) => x.trim()) : null, body: m[3].replace(/\\\n/g, ' ') };
}
function expand(text, env = {}) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') { // a string literal
      let j = i + 1, lit = '';
      while (text[j] !== '"') { if (text[j] === '\\') { lit += text[j + 1]; j += 2; } else lit += text[j++]; }
      out += lit;
      i = j + 1;
      continue;
    }
    const w = /^[A-Za-z_][A-Za-z_0-9]*/.exec(text.slice(i));
    if (!w) { i++; continue; }
    i += w[0].length;
    if (w[0] in env) { out += env[w[0]]; continue; }
    const mac = macros[w[0]];
    if (!mac) continue;
    if (!mac.args) { out += expand(mac.body); continue; }
    // Its arguments: split at the commas outside strings and brackets.
    while (text[i] !== '(') i++;
    const args = [];
    let depth = 0, cur = '', j = i + 1;
    for (; ; j++) {
      const c = text[j];
      if (c === '"') { let k = j + 1; while (text[k] !== '"') k += text[k] === '\\' ? 2 : 1; cur += text.slice(j, k + 1); j = k; continue; }
      if (c === '(') depth++;
      if (c === ')' && depth-- === 0) { args.push(cur); break; }
      if (c === ',' && depth === 0) { args.push(cur); cur = ''; continue; }
      cur += c;
    }
    i = j + 1;
    const argEnv = {};
    mac.args.forEach((a, k) => { argEnv[a] = expand(args[k], env); });
    out += expand(mac.body, argEnv);
  }
  return out;
}
const list = expand(cstr('st_audit_list'));
const names = expand(cstr('st_audit_target_names'));
// The first page's kinds and ids, as the server passes them.
const page = (await pg.psql(`SELECT coalesce(target_type, '') || '|' || coalesce(target_id, 0) FROM audit_log
  WHERE account_id = ${A} ORDER BY id DESC LIMIT 50`, db)).trim().split('\n').map((l) => l.split('|'));
const tys = `'{${page.map(([t, i]) => (t && i !== '0' ? `"${t}"` : '""')).join(',')}}'`;
const idsArr = `'{${page.map(([t, i]) => (t && i !== '0' ? i : '0')).join(',')}}'`;
const listArgs = `(${A}, 0, 50, NULL, NULL, NULL, NULL, NULL, NULL)`;
const namesArgs = `(${A}, ${tys}, ${idsArr})`;
const timed = (body) => `CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS x;
  DO $d$ BEGIN FOR i IN 1..${N} LOOP ${body} END LOOP; END $d$;
  SELECT 'us_per_page ' || round(extract(epoch from clock_timestamp() - x) * 1e6 / ${N}) FROM t0;`;
const prep = `PREPARE s(bigint, bigint, int, bigint, text, bigint, bigint, text, bigint) AS ${list};
  PREPARE n(bigint, text, text) AS ${names};`;
const out = [];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
out.push(`start ${new Date().toISOString()} load ${load()}`);
for (let r = 1; r <= ROUNDS; r++) {
  out.push(`== before (the list statement alone), round ${r}`);
  out.push(await pg.psql(`BEGIN; ${prep} ${timed(`EXECUTE $q$EXECUTE s${listArgs}$q$;`)} ROLLBACK;`, db));
  out.push(`== after (the list, then the names of its page), round ${r}`);
  out.push(await pg.psql(`BEGIN; ${prep} ${timed(`EXECUTE $q$EXECUTE s${listArgs}$q$; EXECUTE $q$EXECUTE n${namesArgs}$q$;`)} ROLLBACK;`, db));
}
out.push('== the names statement: its plan (after the timed executions), then the generic plan');
out.push(await pg.psql(`BEGIN; ${prep} ${timed(`EXECUTE $q$EXECUTE n${namesArgs}$q$;`)}
  EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE n${namesArgs};
  SET LOCAL plan_cache_mode = force_generic_plan;
  EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE n${namesArgs};
  ROLLBACK;`, db));
// Through HTTP: the page of 50, this build.
for (let r = 1; r <= ROUNDS; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) ok(await c.get('/api/v1/audit?limit=50'));
  out.push(`== GET /api/v1/audit?limit=50, round ${r}: ${(Number(process.hrtime.bigint() - t0) / 1e3 / N).toFixed(0)} µs a request`);
}
const sample = ok(await c.get('/api/v1/audit?limit=10')).entries.map((e) => [e.action, e.target_type, e.target_name, e.target_gone]);
out.push(`sample ${JSON.stringify(sample)}`);
out.push(`end ${new Date().toISOString()} load ${load()}`);
console.log(out.join('\n'));
console.log('durability', await pg.durability?.());
await srv.stop(); await pg.destroy();
