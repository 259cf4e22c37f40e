// The JS API of plans and licence rules (wasm/licence.mjs) against the
// WebAssembly build: METRON_WASM_DIR names the folder with metron_core.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import url from 'node:url';

const dir = process.env.METRON_WASM_DIR;
if (!dir) throw new Error('set METRON_WASM_DIR to the folder holding metron_core.mjs');
const load = (name) => import(url.pathToFileURL(path.join(dir, name)).href);
const { default: createCore } = await load('metron_core.mjs');
const { bindLicence } = await load('licence.mjs');
const { MetronError } = await load('mtw.mjs');
const lic = bindLicence(await createCore());

// assert.throws with a MetronError of "code" (and optionally a message part).
function throwsCode(fn, code, msgPart) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof MetronError, `not a MetronError: ${e}`);
    assert.equal(e.code, code);
    if (msgPart) assert.ok(e.message.includes(msgPart), e.message);
    return true;
  });
}

test('unknown plans, quotas and bad dates throw MT_EINVAL with a message', () => {
  throwsCode(() => lic.planLimit('gold', 'P3'), 'MT_EINVAL', 'unknown plan "gold"');
  throwsCode(() => lic.planLimit('free', 'P26'), 'MT_EINVAL', 'unknown quota "P26"');
  throwsCode(() => lic.planLimit(2, 'P3'), 'MT_EINVAL', 'plan must be a string');
  throwsCode(() => lic.parseDate('2025-02-30'), 'MT_EINVAL', 'day 30 is not in 2025-02');
  throwsCode(() => lic.parseDate('2025-2-3'), 'MT_EINVAL');
  throwsCode(() => lic.noticeCalendar('2026-13-01'), 'MT_EINVAL', 'month 13');
  throwsCode(() => lic.convertDays('pro', 'standard', 1.5, '2025-01-15'), 'MT_EINVAL',
             'must be an integer');
  throwsCode(() => lic.convertDays('free', 'pro', 10, '2025-01-15'), 'MT_EINVAL');
  throwsCode(() => lic.convertDays('pro', 'standard', -1, '2025-01-15'), 'MT_EINVAL');
  throwsCode(() => lic.canChangePlan('2025-05-02', '2025-05-01'), 'MT_EINVAL');
  throwsCode(() => lic.trialExpiry(NaN), 'MT_EINVAL');
  throwsCode(() => lic.effectivePlan('pro', null, 0), 'MT_EINVAL', 'needs its expiry date');
  throwsCode(() => lic.requireFeature('pro', 'P20', 'admin'), 'MT_EINVAL');
  throwsCode(() => lic.checkQuota('free', 'P20', 1), 'MT_EINVAL', 'not a count quota');
});

test('the plan table is one JSON-friendly object matching FEATURES section P', () => {
  const t = lic.planTable();
  assert.deepEqual(t.plans, ['trial', 'free', 'standard', 'pro']);
  assert.equal(Object.keys(t.quotas).length, 25);
  const row = (id) => [t.quotas[id].trial, t.quotas[id].free, t.quotas[id].standard,
                       t.quotas[id].pro];
  assert.deepEqual(row('P2'), [500e6, 5e9, 50e9, 500e9]);
  assert.deepEqual(row('P3'), [2, 3, 10, 100]);
  assert.deepEqual(row('P11'), [null, 30, 150, 1000]);
  assert.deepEqual(row('P12'), [1, 3, 8, 8]);
  assert.deepEqual(row('P16'), [0, 0, 3, 100]);
  assert.deepEqual(row('P19'), ['none', 'view', 'full', 'full']);
  assert.deepEqual(row('P20'), ['none', 'none', 'none', 'full']);
  assert.deepEqual(row('P22'), ['none', 'full', 'full', 'full']);
  assert.deepEqual(row('P25'), [[], [], [1, 3, 12], [1, 3, 12]]);
  assert.equal(t.quotas.P3.key, 'apps');
  assert.equal(t.quotas.P3.kind, 'count');
  assert.equal(t.quotas.P2.kind, 'bytes');
  assert.equal(lic.planLimit('free', 'apps'), 3);
  assert.doesNotThrow(() => JSON.stringify(t));
});

test('quota checks throw MT_ELIMIT naming quota, limit and plan', () => {
  assert.equal(lic.checkQuota('free', 'P3', 3), undefined);
  assert.throws(() => lic.checkQuota('free', 'P3', 4), (e) => {
    assert.equal(e.code, 'MT_ELIMIT');
    assert.equal(e.message, 'P3 registered apps: limit 3 on plan free, would be 4');
    assert.deepEqual([e.quota, e.limit, e.plan], ['P3', 3, 'free']);
    return true;
  });
  throwsCode(() => lic.checkQuota('trial', 'P11', 1), 'MT_ELIMIT', 'not available');
  lic.requireFeature('free', 'P19', 'view');
  assert.throws(() => lic.requireFeature('free', 'P19'), (e) => {
    assert.equal(e.code, 'MT_ELIMIT');
    assert.deepEqual([e.quota, e.limit, e.plan], ['P19', 'view', 'free']);
    assert.match(e.message, /view only on plan free \(needs standard\)/);
    return true;
  });
  lic.checkTerm('pro', 12);
  throwsCode(() => lic.checkTerm('standard', 6), 'MT_ELIMIT', '1, 3 or 12 months');
  throwsCode(() => lic.checkTerm('free', 1), 'MT_ELIMIT', 'free of charge');
  assert.equal(lic.cheapestPlan('P3', 4), 'standard');
  assert.equal(lic.cheapestPlan('P20', 'full'), 'pro');
});

test('convertDays: Standard 365 <-> Pro 73, rounding and the 13-month cap', () => {
  assert.deepEqual(lic.convertDays('standard', 'pro', 365, '2025-01-15'),
                   { days: 73, dropped: 0, capDays: 396, expiry: '2025-03-29' });
  assert.deepEqual(lic.convertDays('pro', 'standard', 73, '2025-01-15'),
                   { days: 365, dropped: 0, capDays: 396, expiry: '2026-01-15' });
  assert.equal(lic.convertDays('pro', 'standard', 7, '2025-01-15').days, 35);
  assert.equal(lic.convertDays('standard', 'pro', 8, '2025-01-15').days, 2);
  assert.equal(lic.convertDays('standard', 'pro', 7, '2025-01-15').days, 1);
  assert.deepEqual(lic.convertDays('pro', 'standard', 80, '2025-01-15'),
                   { days: 396, dropped: 4, capDays: 396, expiry: '2026-02-15' });
  assert.equal(lic.capDays('2027-12-31'), 397);
  assert.equal(lic.capDays('2025-01-31'), 393);
});

test('canChangePlan: once a calendar month, month ends clamped', () => {
  assert.deepEqual(lic.canChangePlan(null, '2025-01-01'),
                   { allowed: true, nextAllowed: '2025-01-01', reason: '' });
  const no = lic.canChangePlan('2025-01-31', '2025-02-27');
  assert.equal(no.allowed, false);
  assert.equal(no.nextAllowed, '2025-02-28');
  assert.match(no.reason, /at most once a month; next change allowed on 2025-02-28/);
  assert.equal(lic.canChangePlan('2025-01-31', '2025-02-28').allowed, true);
  assert.equal(lic.canChangePlan('2028-01-31', '2028-02-28').allowed, false);
  assert.equal(lic.canChangePlan('2028-01-31', '2028-02-29').allowed, true);
});

test('trial expiry, over-quota deadline, lapse to Free, retention', () => {
  const created = Date.UTC(2025, 0, 10, 9, 30);
  assert.equal(new Date(lic.trialExpiry(created)).toISOString(), '2025-04-13T09:30:00.000Z');
  assert.equal(lic.trialExpiry(created) - created, 93 * 86400e3);
  assert.equal(new Date(lic.overQuotaDeadline(Date.UTC(2028, 1, 10))).toISOString(),
               '2028-03-12T00:00:00.000Z');
  assert.equal(lic.lapse('2026-06-01'), Date.UTC(2026, 5, 2));
  assert.equal(lic.effectivePlan('pro', '2026-06-01', Date.UTC(2026, 5, 2) - 1), 'pro');
  assert.equal(lic.effectivePlan('pro', '2026-06-01', Date.UTC(2026, 5, 2)), 'free');
  assert.equal(lic.effectivePlan('trial', null, 0), 'trial');
  assert.equal(lic.retentionEnd('2028-02-29'), '2029-03-01');
  assert.equal(lic.retentionEnd('2025-06-10'), '2026-06-10');
  assert.equal(lic.retentionCutoff('2029-03-01'), '2028-03-02');
});

test('noticeCalendar: L6 instants at 08:00 CST = 00:00 UTC, sorted, deduplicated', () => {
  assert.deepEqual(lic.noticeCalendar('2026-06-01'), [
    '2026-03-02T00:00:00.000Z', '2026-04-06T00:00:00.000Z', '2026-05-04T00:00:00.000Z',
    '2026-05-11T00:00:00.000Z', '2026-05-18T00:00:00.000Z', '2026-05-25T00:00:00.000Z',
    '2026-06-01T00:00:00.000Z', '2026-06-02T00:00:00.000Z',
  ]);
  const s = lic.noticeSchedule('2028-03-01');
  assert.deepEqual(s.map((n) => `${n.date} ${n.kind}`), [
    '2027-12-06 monthly', '2028-01-03 monthly', '2028-02-07 weekly', '2028-02-14 weekly',
    '2028-02-21 weekly', '2028-02-23 week_before', '2028-03-01 expiry_day', '2028-03-02 expired',
  ]);
  assert.equal(s[0].at, '2027-12-06T00:00:00.000Z');
  assert.deepEqual(lic.noticeCalendar('2026-06-03').slice(0, 2),
                   ['2026-04-06T00:00:00.000Z', '2026-05-04T00:00:00.000Z']);
  throwsCode(() => lic.noticeCalendar('9999-12-31'), 'MT_ERANGE');
});
