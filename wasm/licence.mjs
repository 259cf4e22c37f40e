// Plans, quotas and licence rules of Metron core in JavaScript
// (core/include/mt/plan.h, mt/licence.h; decisions in docs/licence.md).
//
//   import { bindLicence } from './licence.mjs';
//   const lic = bindLicence(await createCore());
//   lic.planTable().quotas.P3.free              // 3
//   lic.checkQuota('free', 'P3', 4)             // throws MetronError MT_ELIMIT
//   lic.convertDays('pro', 'standard', 73, '2025-01-15').days   // 365
//   lic.noticeCalendar('2026-06-01')            // ['2026-03-02T00:00:00.000Z', ...]
//
// Plans are named 'trial' | 'free' | 'standard' | 'pro'; quotas by id ('P3')
// or key ('apps'); dates are 'YYYY-MM-DD' strings (UTC calendar dates);
// instants are milliseconds since 1970-01-01T00:00Z. Every failure throws a
// MetronError with .code ('MT_EINVAL', 'MT_ELIMIT', ...); a quota error also
// carries .quota ('P3'), .plan ('free') and .limit (3), the fields of the
// server's {"code":"plan_limit",...} answer.
import { MetronError, withError, check, alloc, copyString } from './mtw.mjs';

const KINDS = ['count', 'bytes', 'feature', 'term'];
const ACCESS = { view: 1, full: 2 };

function einval(message) {
  return new MetronError(-2, 'MT_EINVAL', message, 0, 0, 0);
}

export function bindLicence(m) {
  const str = (ptr) => (ptr ? m.UTF8ToString(ptr) : null);

  // Run fn(errPtr, ...stringPtrs) with NUL-terminated copies of "strings".
  function withStrings(strings, fn) {
    const ptrs = [];
    try {
      for (const s of strings) ptrs.push(s === null ? 0 : copyString(m, s));
      return withError(m, (err) => fn(err, ...ptrs));
    } finally {
      for (const p of ptrs) if (p) m._free(p);
    }
  }

  // Scratch memory of "bytes" for out-params, freed after fn(ptr).
  function withOut(bytes, fn) {
    const ptr = alloc(m, bytes);
    try {
      return fn(ptr);
    } finally {
      m._free(ptr);
    }
  }

  function needString(v, what) {
    if (typeof v !== 'string') throw einval(`${what} must be a string`);
    return v;
  }

  function lookup(fnName, name, what) {
    needString(name, what);
    return withOut(4, (out) =>
      withStrings([name], (err, s) => {
        check(m, m[fnName](s, out, err), err);
        return m.HEAP32[out >> 2];
      }));
  }

  const planId = (name) => lookup('_mtw_plan_from_name', name, 'plan');
  const quotaNo = (name) => lookup('_mtw_quota_from_name', name, 'quota');
  const dayString = (day) => withOut(16, (buf) => withError(m, (err) => {
    check(m, m._mtw_date_format(day, buf, 16, err), err);
    return m.UTF8ToString(buf);
  }));

  // The cell for plan number p and quota number q, JSON-friendly:
  // count/bytes: a number, or null for "-"; feature: 'none' | 'view' | 'full';
  // term: the allowed terms in months ([] = free of charge, no term).
  function cell(p, q) {
    return withOut(16, (out) => withError(m, (err) => {
      check(m, m._mtw_plan_get(p, q, out, out + 8, err), err);
      const limit = m.HEAPF64[out >> 3];
      const available = m.HEAP32[(out + 8) >> 2];
      switch (KINDS[m._mtw_quota_kind(q)]) {
        case 'feature': return str(m._mtw_access_name(limit));
        case 'term': {
          const months = [];
          for (let n = 1; n < 31; n++) if (Math.floor(limit / 2 ** n) % 2) months.push(n);
          return months;
        }
        default: return available ? limit : null;
      }
    }));
  }

  let table = null;
  function planTable() {
    if (!table) {
      const plans = [];
      for (let p = 0; p < m._mtw_plan_count(); p++) plans.push(str(m._mtw_plan_name(p)));
      const quotas = {};
      for (let q = 1; q <= m._mtw_quota_last(); q++) {
        const row = {
          id: str(m._mtw_quota_id(q)),
          key: str(m._mtw_quota_key(q)),
          title: str(m._mtw_quota_title(q)),
          kind: KINDS[m._mtw_quota_kind(q)],
        };
        plans.forEach((name, p) => { row[name] = cell(p, q); });
        quotas[row.id] = Object.freeze(row);
      }
      table = Object.freeze({
        plans: Object.freeze(plans),
        storageUnit: 'bytes; 1 MB = 10^6, 1 GB = 10^9',
        quotas: Object.freeze(quotas),
      });
    }
    return table;
  }

  // Rethrow a core MT_ELIMIT with the fields of the server's plan_limit answer.
  function withQuotaFields(fn, plan, quota) {
    try {
      return fn();
    } catch (e) {
      if (e instanceof MetronError && e.code === 'MT_ELIMIT') {
        const row = planTable().quotas[str(m._mtw_quota_id(quotaNo(quota)))];
        e.quota = row.id;
        e.plan = plan;
        e.limit = row[plan];
      }
      throw e;
    }
  }

  function intArg(v, what) {
    if (typeof v !== 'number') throw einval(`${what} must be a number`);
    return v;
  }

  const api = {
    planTable,

    // The cell of "plan" for "quota" as in planTable().
    planLimit(plan, quota) {
      return cell(planId(plan), quotaNo(quota));
    },

    // Throws MT_ELIMIT when "countAfterChange" objects (bytes for P2) would
    // exceed the quota of "plan"; returns undefined when allowed.
    checkQuota(plan, quota, countAfterChange) {
      const p = planId(plan), q = quotaNo(quota);
      intArg(countAfterChange, 'countAfterChange');
      withQuotaFields(() => withError(m, (err) =>
        check(m, m._mtw_plan_check(p, q, countAfterChange, err), err)), plan, quota);
    },

    // Throws MT_ELIMIT unless feature "quota" is allowed on "plan" at "level"
    // ('full', the default, or 'view').
    requireFeature(plan, quota, level = 'full') {
      const p = planId(plan), q = quotaNo(quota);
      if (!Object.hasOwn(ACCESS, level)) throw einval(`level must be 'view' or 'full'`);
      withQuotaFields(() => withError(m, (err) =>
        check(m, m._mtw_plan_require(p, q, ACCESS[level], err), err)), plan, quota);
    },

    // Throws MT_ELIMIT unless a licence of "months" can be bought for "plan".
    checkTerm(plan, months) {
      const p = planId(plan);
      intArg(months, 'months');
      if (!Number.isInteger(months)) throw einval('months must be an integer');
      withError(m, (err) => check(m, m._mtw_plan_check_term(p, months | 0, err), err));
    },

    // The cheapest plan allowing "need" (a count, a level name, or months).
    cheapestPlan(quota, need) {
      const q = quotaNo(quota);
      const n = typeof need === 'string' && Object.hasOwn(ACCESS, need) ? ACCESS[need] : need;
      intArg(n, 'need');
      return withOut(4, (out) => withError(m, (err) => {
        check(m, m._mtw_plan_cheapest(q, n, out, err), err);
        return str(m._mtw_plan_name(m.HEAP32[out >> 2]));
      }));
    },

    // L2: convert "days" remaining on "from" into days on "to" on date
    // "today": { days, dropped, capDays, expiry: 'YYYY-MM-DD' }.
    convertDays(from, to, days, today) {
      const f = planId(from), t = planId(to);
      intArg(days, 'days');
      needString(today, 'today');
      return withOut(32, (out) => withStrings([today], (err, s) => {
        check(m, m._mtw_licence_convert(f, t, days, s, out, err), err);
        const v = new Float64Array(m.HEAPF64.buffer, out, 4).slice();
        return { days: v[0], dropped: v[1], capDays: v[2], expiry: dayString(v[3]) };
      }));
    },

    // L2: the 13-month cap in days from "today".
    capDays(today) {
      needString(today, 'today');
      return withOut(8, (out) => withStrings([today], (err, s) => {
        check(m, m._mtw_licence_cap_days(s, out, err), err);
        return m.HEAPF64[out >> 3];
      }));
    },

    // L2: { allowed, nextAllowed: 'YYYY-MM-DD', reason } for a plan change on
    // "today" after one on "lastChange" (null: never changed, allowed).
    canChangePlan(lastChange, today) {
      needString(today, 'today');
      if (lastChange === null || lastChange === undefined) {
        api.parseDate(today);
        return { allowed: true, nextAllowed: today, reason: '' };
      }
      needString(lastChange, 'lastChange');
      return withOut(4, (out) => withStrings([lastChange, today], (err, l, t) => {
        const st = m._mtw_licence_check_plan_change(l, t, out, err);
        let reason = '';
        if (st === -9 /* MT_ELIMIT */) {
          try { check(m, st, err); } catch (e) { reason = e.message; }
        } else {
          check(m, st, err);
        }
        return { allowed: st === 0, nextAllowed: dayString(m.HEAP32[out >> 2]), reason };
      }));
    },

    // L4: the instant (ms) a trial created at "createdMs" expires.
    trialExpiry(createdMs) {
      intArg(createdMs, 'createdMs');
      return withOut(8, (out) => withError(m, (err) => {
        check(m, m._mtw_licence_trial_expiry(createdMs, out, err), err);
        return m.HEAPF64[out >> 3];
      }));
    },

    // L3: the deletion deadline (ms) after an over-quota notice at "notifiedMs".
    overQuotaDeadline(notifiedMs) {
      intArg(notifiedMs, 'notifiedMs');
      return withOut(8, (out) => withError(m, (err) => {
        check(m, m._mtw_licence_overquota_deadline(notifiedMs, out, err), err);
        return m.HEAPF64[out >> 3];
      }));
    },

    // L3: the instant (ms) a licence with expiry date "expiry" lapses to Free.
    lapse(expiry) {
      needString(expiry, 'expiry');
      return withOut(8, (out) => withStrings([expiry], (err, s) => {
        check(m, m._mtw_licence_lapse(s, out, err), err);
        return m.HEAPF64[out >> 3];
      }));
    },

    // L3: the plan in force at "nowMs" ("expiry" may be null for trial/free).
    effectivePlan(plan, expiry, nowMs) {
      const p = planId(plan);
      intArg(nowMs, 'nowMs');
      if (expiry !== null && expiry !== undefined) needString(expiry, 'expiry');
      return withOut(4, (out) => withStrings([expiry ?? null], (err, s) => {
        check(m, m._mtw_licence_effective_plan(p, s, nowMs, out, err), err);
        return str(m._mtw_plan_name(m.HEAP32[out >> 2]));
      }));
    },

    // L5 (Free): the date from which data acquired on "date" may be deleted.
    retentionEnd(date) {
      needString(date, 'date');
      return withOut(4, (out) => withStrings([date], (err, s) => {
        check(m, m._mtw_licence_retention(0, s, out, err), err);
        return dayString(m.HEAP32[out >> 2]);
      }));
    },

    // L5 (Free): on "today", data acquired before the returned date has expired.
    retentionCutoff(today) {
      needString(today, 'today');
      return withOut(4, (out) => withStrings([today], (err, s) => {
        check(m, m._mtw_licence_retention(1, s, out, err), err);
        return dayString(m.HEAP32[out >> 2]);
      }));
    },

    // L6: [{ at: ISO instant, date: 'YYYY-MM-DD', kind }] sorted ascending.
    noticeSchedule(expiry) {
      needString(expiry, 'expiry');
      const cap = m._mtw_licence_notice_max();
      return withOut(cap * 16 + 4, (buf) => withStrings([expiry], (err, s) => {
        const at = buf, day = buf + cap * 8, kind = day + cap * 4, n = kind + cap * 4;
        check(m, m._mtw_licence_notices(s, at, day, kind, cap, n, err), err);
        const out = [];
        for (let i = 0; i < m.HEAP32[n >> 2]; i++) {
          out.push({
            at: new Date(m.HEAPF64[(at >> 3) + i]).toISOString(),
            date: dayString(m.HEAP32[(day >> 2) + i]),
            kind: str(m._mtw_notice_kind_name(m.HEAP32[(kind >> 2) + i])),
          });
        }
        return out;
      }));
    },

    // L6: the send instants only, as ISO strings ('2026-03-02T00:00:00.000Z').
    noticeCalendar(expiry) {
      return api.noticeSchedule(expiry).map((n) => n.at);
    },

    // Validate 'YYYY-MM-DD' strictly; returns the string (throws MT_EINVAL).
    parseDate(date) {
      needString(date, 'date');
      withOut(4, (out) => withStrings([date], (err, s) =>
        check(m, m._mtw_date_parse(s, out, err), err)));
      return date;
    },
  };
  return Object.freeze(api);
}
