// What one notify_claim() costs on a large outbox (docs/notify.md, "Order
// and receivers in flight"; docs/benchmarks.md "Attempts in flight per
// receiving host"). Its own PostgreSQL, a server with no sender threads
// (it only migrates and makes the account and destinations); the outbox is
// filled by SQL: 200,000 sent mails, 50,000 due mails, 20,000 future
// retries, then in turn:
//   code:  one due sign-in code (priority 0) — the claim returns it;
//   host:  8 Teams destinations on one host, 2 of their rows 'sending'
//          under a live lease, 800 due rows of theirs older than every
//          other due row, then one due row of a healthy host — with 056 the
//          claim reads past the 800 and returns the healthy row (051 takes
//          a row of the hung host: only 2 of its destinations are busy);
//   hooks: the same with mail at its limit (4 mails 'sending'): the due
//          rows are read from notify_outbox_due_hooks;
//   account: the same with the account at its limit of webhook attempts
//          in flight (4: 2 more rows 'sending' to two other hosts) and one
//          due row of another account, the newest — with 059 the claim
//          skips every webhook row of the account and returns the other
//          account's (058 takes the healthy host's row: a fifth attempt of
//          the account);
//   share: the account no longer at its limit and mail not at its own,
//          the hung host looking healthy (no trouble recorded) with 3 of
//          the account's attempts in flight (its share: the account's 4
//          less one) — with 065 the claim skips the host's rows and
//          returns the account's healthy host's row (059 takes a fourth
//          row of the hung host: the account's last slot);
//   slow:  the same and a fourth attempt of the account to another host
//          (the account at its limit), every attempt in flight claimed 5 s
//          ago (older than METRON_NOTIFY_SLOW_MS, 1 s) — with 079 both
//          hosts are in trouble beyond the account's share and the claim
//          returns the account's healthy host's row (its other receivers'
//          slot); 075 leaves the account's webhook rows and returns the
//          next due row, a mail of the backlog;
//   trouble: (079 or later) the in-flight rows gone, the account's share of
//          hosts in trouble held by 3 hosts in trouble (a row of each in
//          notify_host_health), one attempt in flight to each (not slow),
//          100 due rows of each and of a fourth host in trouble with nothing
//          in flight, older than every other due row, then the account's
//          healthy row: the claim reads past the 400 rows of hosts in trouble
//          (the three's behind their receiver's attempt in flight, left out
//          before their health is asked; the fourth's 100 asked) and returns
//          the healthy row. With BENCH_HEALTH_ROWS in the thousands this is
//          the many-hosts case (thousands of accounts' hosts with trouble in
//          the last day): 080's claim reads the whole health table into a
//          hash there.
// Each figure: ROUNDS claims of 1 row, each undone (a subtransaction rolled
// back), timed inside PostgreSQL (clock_timestamp(), and the backend's CPU
// from /proc/self/stat, 10 ms ticks: take ROUNDS in the thousands); the
// median of REPEAT such runs. Works with a server binary of before 056 too (the 7-argument
// claim of 051; host_key is then not filled). BENCH_COMPARE=NNN (a migration of 065 or
// later that defines notify_claim_busy(), notify_claim_held() and the 6-argument
// notify_claim()) also loads that migration's three functions under names of their own
// (suffix _old) into the same database and times both claims in each case, alternated,
// in one cluster: the binaries' own clusters differ by more than the claims on a loaded
// machine. BENCH_COMPARE=79,80 loads each in turn (080 replaces two of 079's three: the
// claim of 080 is 079's notify_claim() with 080's two functions). BENCH_HEALTH_ROWS=N (058 or later) adds N hosts in trouble that have nothing in
// flight (notify_host_health holds a row per host with trouble in the last day), kept
// through every case: a claim that reads the whole table instead of probing it by key
// (079's notify_claim_busy() did, where an account had its share in flight) shows there.
//   METRON_SERVER_BIN=build/server/metron-server-test NODE_PATH=/usr/share/nodejs \
//     [BENCH_COMPARE=75 | 79,80] [BENCH_HEALTH_ROWS=2000] node tests/bench/outbox_claim_bench.mjs \
//     [ROUNDS (2000)] [REPEAT (3)]
import fs from 'node:fs';
import { createAccount, login, startPostgres, startServer } from '../server/harness.mjs';

const ROUNDS = Number(process.argv[2] || 2000);
const REPEAT = Number(process.argv[3] || 3);
const PW = 'Correct-h0rse';
const pg = await startPostgres();
const url = await pg.createDatabase();
const db = new URL(url).pathname.slice(1);
const sql = (q) => pg.psql(q, db);
const srv = await startServer({ databaseUrl: url, env: { METRON_NOTIFY_THREADS: '0' } });
const ids = await createAccount(srv.url, { account: 'claim', plan: 'pro', user: 'admin', password: PW,
  email: 'admin@claim.test' });
const c = await login(srv.url, { account: 'claim', user: 'admin', password: PW });
const dest = async (kind, address) => {
  const r = await c.post('/api/v1/destinations', { kind, address });
  if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  return r.body.id;
};
const mail = await dest('email', 'backlog@claim.test');
const hung = [];
for (let i = 0; i < 8; i++) hung.push(await dest('teams', `http://10.0.0.7:9000/h${i}`));
const healthy = await dest('teams', 'http://10.0.0.8:9000/fine');
const busy = [await dest('slack', 'http://10.0.0.9:9000/b0'), await dest('wechat', 'http://10.0.0.10:9000/b1')];
// "trouble": four hosts in trouble of the account.
const troubled = [];
for (let i = 1; i <= 4; i++) troubled.push(await dest('teams', `http://10.0.0.${20 + i}:9000/t${i}`));
const idsB = await createAccount(srv.url, { account: 'claimb', plan: 'pro', user: 'admin', password: PW,
  email: 'admin@claimb.test' });
const cb = await login(srv.url, { account: 'claimb', user: 'admin', password: PW });
const rb = await cb.post('/api/v1/destinations', { kind: 'teams', address: 'http://10.0.0.11:9000/other' });
if (rb.status !== 201) throw new Error(JSON.stringify(rb.body));
const otherDest = rb.body.id;
await srv.stop();
const A = ids.accountId;
const has056 = (await sql(`SELECT count(*) FROM information_schema.columns
  WHERE table_name = 'notify_outbox' AND column_name = 'host_key'`)) === '1';

// rows(n, destination, kind, state, next_at expression, priority)
const rows = (n, d, channel, state, next, prio = 1, key = 'k', account = A) => sql(`
  INSERT INTO notify_outbox (account_id, message_id, dedupe_key, target, target_type,
    destination_id, channel, kind, language, severity, title, state, next_at, priority,
    lease_owner, attempts)
  SELECT ${account}, nextval('notify_message_seq'), '${key}' || g, 'd:${d}', 'destination', ${d},
    '${channel}', 'alarm.raise', 'en', 'alert', 'T', '${state}', ${next}, ${prio},
    CASE WHEN '${state}' = 'sending' THEN 'bench' END, CASE WHEN '${state}' = 'sending' THEN 1 ELSE 0 END
    FROM generate_series(1, ${n}) g`);
const fillHosts = () => has056 ? sql(`UPDATE notify_outbox o SET host_key = notify_host(d.kind, d.address)
  FROM notify_destinations d WHERE o.state IN ('queued', 'retry', 'sending')
   AND d.account_id = o.account_id AND d.id = o.destination_id`) : null;

await rows(200000, mail, 'email', 'sent', `now() - interval '1 day'`, 1, 'sent');
await rows(50000, mail, 'email', 'queued', `now() - interval '1 minute'`, 1, 'due');
await rows(20000, mail, 'email', 'retry', `now() + interval '1 hour'`, 1, 'later');
await rows(1, mail, 'email', 'queued', 'now()', 0, 'code');
await fillHosts();
await sql('VACUUM ANALYZE notify_outbox');

const has058 = (await sql(`SELECT count(*) FROM information_schema.tables
  WHERE table_name = 'notify_host_health'`)) === '1';
// 058: the hung host is in trouble (its last attempt timed out), so it has
// the strict limit (2) as under 056; a healthy host would have 4.
if (has058) await sql(`INSERT INTO notify_host_health (host_key, failed_at) VALUES ('10.0.0.7:9000', now())`);
const HEALTH_ROWS = Number(process.env.BENCH_HEALTH_ROWS || 0);
if (has058 && HEALTH_ROWS > 0) {
  await sql(`INSERT INTO notify_host_health (host_key, failed_at)
    SELECT 'gone' || g || '.example:443', now() FROM generate_series(1, ${HEALTH_ROWS}) g;
    ANALYZE notify_host_health`);
}
const has059 = (await sql(`SELECT count(*) FROM pg_proc WHERE proname = 'notify_claim_held'`)) === '1';
const has065 = (await sql(`SELECT count(*) FROM schema_migrations WHERE version = 65`)) === '1';
// 059: the limits in one jsonb, the account's 4 (half of 8 threads, the
// default); 065: the share of one host in it, 3, as the server passes it.
const claim = has065
  ? `notify_claim('bench', 1, 60000, '{0,0,0,0}', 10,
      '{"receiver": 1, "mail": 4, "host": 2, "healthy_host": 4, "account": 4, "account_host": 3}')`
  : has059
  ? `notify_claim('bench', 1, 60000, '{0,0,0,0}', 10,
      '{"receiver": 1, "mail": 4, "host": 2, "healthy_host": 4, "account": 4}')`
  : has058
  ? `notify_claim('bench', 1, 60000, '{0,0,0,0}', 10, 1, 4, 2, 4)`
  : has056
  ? `notify_claim('bench', 1, 60000, '{0,0,0,0}', 10, 1, 4, 2)`
  : `notify_claim('bench', 1, 60000, '{0,0,0,0}', 10, 1, 4)`;
// pg.psql() gives stdout only: the NOTICE goes to stderr, so the loop's
// figure is read from a table instead.
await sql(`CREATE TABLE bench_claim (what text, ms numeric, cpu_ms numeric)`);
// BENCH_COMPARE: an older migration's claim beside this one, under other names.
const COMPARE = (process.env.BENCH_COMPARE || '').split(',').filter(Boolean).map(Number);
const claims = [['', claim]];
if (COMPARE.length) {
  const dir = new URL('../../server/migrations/', import.meta.url);
  let file;
  for (const n of COMPARE) {
    file = fs.readdirSync(dir).find((f) => f.startsWith(`${String(n).padStart(3, '0')}_`));
    const text = fs.readFileSync(new URL(file, dir), 'utf8');
    const from = text.search(/CREATE (OR REPLACE )?FUNCTION notify_claim_busy\(/);
    if (from < 0) throw new Error(`${file} does not define notify_claim_busy()`);
    await sql(text.slice(from).replace(/\bnotify_claim_busy\b/g, 'notify_claim_busy_old')
      .replace(/\bnotify_claim_held\b/g, 'notify_claim_held_old')
      .replace(/FUNCTION notify_claim\(/g, 'FUNCTION notify_claim_old('));
  }
  claims.push([` (${file.slice(0, 3)})`, claim.replace('notify_claim(', 'notify_claim_old(')]);
}
async function measure(what) {
  for (let k = 0; k < REPEAT; k++) {
    for (const [label, c] of claims) await measureOnce(what + label, c);
  }
  for (const [label, c] of claims) await report(what + label, c);
}
async function measureOnce(what, claim) {
  await sql(`DO $$
    DECLARE t0 timestamptz; total interval := '0'; n integer; c0 bigint; c1 bigint;
    BEGIN
      c0 := (SELECT (f[12])::bigint + (f[13])::bigint
               FROM regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') f);
      FOR i IN 1..${ROUNDS} LOOP
        BEGIN
          t0 := clock_timestamp();
          SELECT count(*) INTO n FROM ${claim};
          total := total + (clock_timestamp() - t0);
          RAISE EXCEPTION 'undo';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
      END LOOP;
      c1 := (SELECT (f[12])::bigint + (f[13])::bigint
               FROM regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') f);
      INSERT INTO bench_claim VALUES ('${what}', extract(epoch FROM total) * 1000 / ${ROUNDS},
        (c1 - c0) * 10.0 / ${ROUNDS});
      -- The reads of notify_host_health counted before report() looks.
      ${has058 ? 'PERFORM pg_stat_force_next_flush();' : ''}
    END $$`);
}
async function report(what, claim) {
  // What a claim takes there (undone; a separate call: psql -c runs its
  // statements in one transaction).
  // And how many rows of notify_host_health it read (a hashed subplan
  // reads every one; the session's counts flushed before it answers).
  const healthRead = () => has058 ? sql(`SELECT seq_tup_read
      + (SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname = 'notify_host_health')
    FROM pg_stat_user_tables WHERE relname = 'notify_host_health'`).then(Number) : 0;
  const read0 = await healthRead();
  const returned = await sql(`BEGIN; SELECT r_channel || ' ' || r_address FROM ${claim}; ROLLBACK;
    ${has058 ? 'SELECT pg_stat_force_next_flush();' : ''}`);
  const read = (await healthRead()) - read0;
  const all = (await sql(`SELECT string_agg(round(ms, 3)::text, ' ' ORDER BY ms) FROM bench_claim
    WHERE what = '${what}'`));
  const cpu = (await sql(`SELECT string_agg(round(cpu_ms, 3)::text, ' ' ORDER BY cpu_ms) FROM bench_claim
    WHERE what = '${what}'`));
  const mid = (t) => t.split(' ').map(Number)[Math.floor(REPEAT / 2)];
  console.log(`${what}: claim ${mid(all)} ms, CPU ${mid(cpu)} ms (medians of ${REPEAT} runs of ` +
    `${ROUNDS}: ${all} / ${cpu}); it returned: ` +
    `${returned.split('\n').filter((l) => /@|http/.test(l)).join(', ')}; rows of notify_host_health read: ${read}`);
}

await measure('code');
await sql(`DELETE FROM notify_outbox WHERE dedupe_key = 'code1'`);
// The hung host: 2 attempts in flight (leases of an hour: a minute ran out
// before the last case on a loaded machine), 800 due rows older than the rest.
await rows(1, hung[0], 'teams', 'sending', `now() + interval '1 hour'`, 1, 'fly');
await rows(1, hung[1], 'teams', 'sending', `now() + interval '1 hour'`, 1, 'fly');
for (const d of hung) await rows(100, d, 'teams', 'queued', `now() - interval '2 hours'`, 1, 'hung');
await rows(1, healthy, 'teams', 'queued', `now() - interval '1 hour'`, 1, 'fine');
await fillHosts();
await sql('VACUUM ANALYZE notify_outbox');
await measure('host');
// Mail at its limit too: the webhook rows' own index.
await rows(4, mail, 'email', 'sending', `now() + interval '1 hour'`, 1, 'mailfly');
await sql('VACUUM ANALYZE notify_outbox');
await measure('hooks');
// The account at its limit: 2 more attempts in flight, to two other hosts;
// another account's due row, the newest.
await rows(1, busy[0], 'slack', 'sending', `now() + interval '1 hour'`, 1, 'fly2');
await rows(1, busy[1], 'wechat', 'sending', `now() + interval '1 hour'`, 1, 'fly3');
await rows(1, otherDest, 'teams', 'queued', `now() - interval '1 second'`, 1, 'other', idsB.accountId);
await fillHosts();
await sql('VACUUM ANALYZE notify_outbox');
await measure('account');
// The account's share of one host: the other attempts and the host's
// trouble gone, a third attempt to the hung host in flight.
await sql(`DELETE FROM notify_outbox WHERE dedupe_key IN ('fly21', 'fly31', 'mailfly1', 'mailfly2',
  'mailfly3', 'mailfly4')`);
if (has058) await sql(`DELETE FROM notify_host_health WHERE host_key = '10.0.0.7:9000'`);
await rows(1, hung[2], 'teams', 'sending', `now() + interval '1 hour'`, 1, 'fly4');
await fillHosts();
await sql('VACUUM ANALYZE notify_outbox');
await measure('share');
// The account at its limit with hosts that started hanging together: a
// fourth attempt, to another host; every attempt in flight 5 s old.
await rows(1, busy[0], 'slack', 'sending', `now() + interval '1 hour'`, 1, 'fly5');
await fillHosts();
const has079 = (await sql(`SELECT count(*) FROM schema_migrations WHERE version = 79`)) === '1';
if (has079) await sql(`UPDATE notify_outbox SET claimed_at = now() - interval '5 seconds' WHERE state = 'sending'`);
await sql('VACUUM ANALYZE notify_outbox');
await measure('slow');
// The account's hosts in trouble holding their share below its limit: 3
// hosts in trouble with an attempt in flight each, a fourth with nothing in
// flight, 100 due rows of each ahead of the account's healthy row.
if (has079) {
  await sql(`DELETE FROM notify_outbox WHERE state = 'sending' OR dedupe_key LIKE 'hung%'`);
  for (const [i, d] of troubled.entries()) {
    if (i < 3) await rows(1, d, 'teams', 'sending', `now() + interval '1 hour'`, 1, `tfly${i}.`);
    await rows(100, d, 'teams', 'queued', `now() - interval '2 hours'`, 1, `trouble${i}.`);
  }
  await fillHosts();
  // Claimed "in an hour": not slow (METRON_NOTIFY_SLOW_MS) while the case runs.
  await sql(`UPDATE notify_outbox SET claimed_at = now() + interval '1 hour' WHERE state = 'sending';
    INSERT INTO notify_host_health (host_key, failed_at)
      SELECT '10.0.0.' || (20 + g) || ':9000', now() FROM generate_series(1, 4) g;
    ANALYZE notify_host_health`);
  await sql('VACUUM ANALYZE notify_outbox');
  await measure('trouble');
}
const has080 = (await sql(`SELECT count(*) FROM schema_migrations WHERE version = 80`)) === '1';
const has082 = (await sql(`SELECT count(*) FROM schema_migrations WHERE version = 82`)) === '1';
console.log(`schema ${has082 ? '082' : has080 ? '080' : has079 ? '079' : has065 ? '065' : has059 ? '059' : has058 ? '058' : has056 ? '056' : 'before 056'}; ${await sql(`SELECT count(*) FROM notify_outbox`)} rows, ` +
  `${await sql(`SELECT count(*) FROM notify_host_health`)} hosts in trouble`);
await pg.destroy();
