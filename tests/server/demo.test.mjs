// --demo (scripts/run): the Pro demo account has a history worth looking at
// (issue 18, item 5): 32 acquired channels with a week (and an hour) of
// one-minute samples up to the start-up minute, a few special values, one
// two-hour gap on every channel, latest values for the monitor, and its
// app last heard from at the end of the history. The other demo accounts
// keep their four channels; a restart writes nothing again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { destroyChecked, startPostgres, startServer, login } from './harness.mjs';

const WEEK_MIN = 7 * 1440 + 60;
const MIN_US = 60e6;
let pg, url;
const dirs = [];

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('demo');
});
after(async () => {
  await destroyChecked(pg);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('the Pro demo has a week of one-minute data on 32 channels, with special values and a gap', async () => {
  const started = Date.now();
  let srv = await startServer({ databaseUrl: url, args: ['--demo'] });
  dirs.push(srv.dataDir);
  const m = /demo: (\d+) samples of history on 32 channels in (\d+) ms/.exec(srv.stderr());
  assert.ok(m, srv.stderr());
  const written = Number(m[1]);
  assert.equal(written, 32 * (WEEK_MIN - 120), 'a week and an hour on 32 channels, less the two-hour gap');
  try {
    const c = await login(srv.url, { account: 'demo-pro', user: 'admin', password: 'Demo-pass1' });
    const g = (await c.get('/api/v1/me/group')).body.group;
    const mon = (await c.get(`/api/v1/groups/${g.id}/monitor`)).body;
    const app = mon.apps[0];
    const chans = app.devices[0].channels;
    assert.equal(chans.length, 32);
    assert.ok(chans.every((x) => x.selected && x.latest && typeof x.latest.v === 'number'), 'every channel has a latest value');
    const end = Math.max(...chans.map((x) => x.latest.t));
    assert.ok(end <= started * 1000 + 120e6 && end >= started * 1000 - 180e6, 'the history ends at start-up');
    assert.ok(Math.abs(Date.parse(app.last_seen_at) * 1000 - end) < 2e6, 'the app was last heard from then');
    assert.ok(new Set(chans.map((x) => x.unit)).size >= 6, 'several units');
    // The graph over the week: every channel, minute by minute, a gap of two hours.
    const ids = chans.map((x) => x.id);
    const from = end - (WEEK_MIN - 1) * MIN_US;
    let r = await c.get(`/api/v1/data/graph?channels=${ids.join(',')}&from=${from}&to=${end + MIN_US}&buckets=${WEEK_MIN}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const specials = new Set();
    for (const ch of r.body.channels) {
      const n = ch.n.reduce((s, x) => s + x, 0) + (ch.special || []).reduce((s, x) => s + (x ? x.count : 0), 0);
      assert.ok(n >= WEEK_MIN - 120 - 10, `channel ${ch.id}: ${n} samples`);
      for (const sp of ch.special || []) if (sp) specials.add(sp.last);
    }
    for (const k of ['+over', '-over', 'break']) assert.ok(specials.has(k), `a ${k} value`);
    // The outage: two hours without a sample on any channel.
    r = await c.get(`/api/v1/data/raw?channels=${ids.slice(0, 2).join(',')}&from=${from}&to=${end + MIN_US}&limit=100000`);
    let longest = 0;
    for (let i = 1; i < r.body.t.length; i++) longest = Math.max(longest, r.body.t[i] - r.body.t[i - 1]);
    assert.equal(longest, 121 * MIN_US, 'one gap of two hours');
    // "missing" is a value of its own (the frequency).
    const flow = chans.find((x) => x.name === 'Frequency').id;
    r = await c.get(`/api/v1/data/raw?channels=${flow}&from=${from}&to=${end + MIN_US}&limit=100000`);
    assert.equal(r.body.channels[0].v.filter((v) => v === 'missing').length, 10);
    // The other demos keep their four channels.
    const f = await login(srv.url, { account: 'demo-free', user: 'admin', password: 'Demo-pass1' });
    const fg = (await f.get('/api/v1/me/group')).body.group;
    assert.equal((await f.get(`/api/v1/groups/${fg.id}/monitor`)).body.apps[0].devices[0].channels.length, 4);
  } finally {
    await srv.stop();
  }
  // A restart on the same database writes no history again.
  srv = await startServer({ databaseUrl: url, args: ['--demo'], dataDir: srv.dataDir });
  await srv.stop();
  assert.doesNotMatch(srv.stderr(), /samples of history/);
  assert.equal(await pg.psql('SELECT count(*) FROM channels', 'demo'), '44');
});
