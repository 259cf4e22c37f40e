// Alarm rules in JavaScript (core/include/mt/alarm.h through wasm/mtw_alarm.c).
//
//   const alarm = bindAlarm(m);
//   const rule = alarm.parseRule('CH1 > 30 AND CH2 <= 5 FOR 60s DURING 08:00-18:00 TZ +08:00');
//   String(rule)             // canonical text: 'CH1 > 30 AND CH2 <= 5 FOR 1m DURING ...'
//   const ev = alarm.createEvaluator(rule);   // or the text
//   ev.feed(tMs, v1, v2)     // -> [{ kind: 'raise', timeMs, row, values: [v1, v2] }, ...]
//   const bytes = ev.saveState(); ev.restoreState(bytes); ev.free();
//
// A rule object is plain data:
//   { conditions: [{ channel: 1|2, op: '>'|'>='|'<='|'<', value }
//                 | { channel, op: 'outside[]'|'outside()', low, high }],
//     join: 'AND'|'OR'|null, raiseFilterMs, clearFilterMs, hyst,
//     window: null | { startMin, endMin, offhours }, utcOffsetMin }
// and String(rule) / formatRule(rule) print it (validated by core).
// Events: { kind: 'raise'|'clear'|'special'|'special-end', timeMs, row,
//           channel (1|2, 0 for raise/clear), special ('' or 'missing', '+over',
//           '-over', 'break', 'error'), values: [v1, v2] }.
// Errors throw MetronError (.code, .pos: byte offset in the text, or row index).
import { MetronError, withError, check, alloc, copyIn, copyString, SV_NAMES } from './mtw.mjs';

const OPS = [null, '>', '>=', '<=', '<', 'outside[]', 'outside()'];
const JOINS = [null, 'AND', 'OR'];
const KINDS = [null, 'raise', 'clear', 'special', 'special-end'];
const EV_CAP = 1024; // events per wasm call

function invalid(msg) {
  return new MetronError(-2, 'MT_EINVAL', msg, 0, 0, 0);
}

function toF64(arr, name) {
  if (arr instanceof Float64Array) return arr;
  if (arr && typeof arr.length === 'number') return Float64Array.from(arr);
  throw invalid(`${name} must be an array of numbers`);
}

export function bindAlarm(m) {
  const RULE_N = m._mtw_alarm_rule_n();
  const EVENT_N = m._mtw_alarm_event_n();
  const STATE_SIZE = m._mtw_alarm_state_size();

  function unpack(d) {
    const cond = (i) => {
      const channel = d[i], op = OPS[d[i + 1]];
      return op.startsWith('outside')
        ? { channel, op, low: d[i + 2], high: d[i + 3] }
        : { channel, op, value: d[i + 2] };
    };
    const rule = {
      conditions: d[0] === 2 ? [cond(2), cond(6)] : [cond(2)],
      join: JOINS[d[1]],
      raiseFilterMs: d[10],
      clearFilterMs: d[11],
      hyst: d[12],
      window: d[13] ? { startMin: d[14], endMin: d[15], offhours: d[16] === 1 } : null,
      utcOffsetMin: d[17],
    };
    Object.defineProperty(rule, 'toString', { value() { return formatRule(this); } });
    return rule;
  }

  function pack(rule) {
    if (!rule || !Array.isArray(rule.conditions)) throw invalid('rule must be a rule object');
    const d = new Float64Array(RULE_N);
    const n = rule.conditions.length;
    d[0] = n;
    d[1] = n === 2 ? JOINS.indexOf(rule.join) : 0;
    rule.conditions.slice(0, 2).forEach((c, k) => {
      const op = OPS.indexOf(c.op);
      const at = 2 + 4 * k;
      d[at] = c.channel;
      d[at + 1] = op;
      if (op >= 5) {
        d[at + 2] = c.low;
        d[at + 3] = c.high;
      } else {
        d[at + 2] = c.value;
      }
    });
    d[10] = rule.raiseFilterMs ?? 0;
    d[11] = rule.clearFilterMs ?? d[10];
    d[12] = rule.hyst ?? 0;
    if (rule.window) {
      d[13] = 1;
      d[14] = rule.window.startMin;
      d[15] = rule.window.endMin;
      d[16] = rule.window.offhours ? 1 : 0;
    }
    d[17] = rule.utcOffsetMin ?? 0;
    return d; // core validates every field (NaN/undefined included)
  }

  function parseRule(text) {
    if (typeof text !== 'string') throw invalid('rule text must be a string');
    const textPtr = copyString(m, text);
    const outPtr = alloc(m, RULE_N * 8);
    try {
      return withError(m, (err) => {
        // lengthBytesUTF8, so error positions are byte offsets as in core
        check(m, m._mtw_alarm_parse(textPtr, m.lengthBytesUTF8(text), outPtr, err), err);
        return unpack(new Float64Array(m.HEAPF64.buffer, outPtr, RULE_N).slice());
      });
    } finally {
      m._free(textPtr);
      m._free(outPtr);
    }
  }

  function withRule(rule, fn) {
    const ptr = copyIn(m, pack(typeof rule === 'string' ? parseRule(rule) : rule));
    try {
      return fn(ptr);
    } finally {
      m._free(ptr);
    }
  }

  function formatRule(rule) {
    return withRule(rule, (rulePtr) => {
      const cap = 512;
      const buf = alloc(m, cap);
      try {
        return withError(m, (err) => {
          const len = check(m, m._mtw_alarm_print(rulePtr, buf, cap, err), err);
          return m.UTF8ToString(buf, len);
        });
      } finally {
        m._free(buf);
      }
    });
  }

  function createEvaluator(rule) {
    let handle = withRule(rule, (rulePtr) => {
      const out = alloc(m, 4);
      try {
        return withError(m, (err) => {
          check(m, m._mtw_alarm_new(rulePtr, out, err), err);
          return m.HEAPU32[out >> 2];
        });
      } finally {
        m._free(out);
      }
    });
    const live = () => {
      if (!handle) throw invalid('evaluator was freed');
      return handle;
    };

    const ev = {
      get raised() {
        return m._mtw_alarm_is_raised(live()) === 1;
      },

      reset() {
        m._mtw_alarm_reset(live());
      },

      saveState() {
        const h = live();
        const buf = alloc(m, STATE_SIZE);
        try {
          return withError(m, (err) => {
            const n = check(m, m._mtw_alarm_save(h, buf, STATE_SIZE, err), err);
            return new Uint8Array(m.HEAPU8.buffer, buf, n).slice();
          });
        } finally {
          m._free(buf);
        }
      },

      restoreState(bytes) {
        const h = live();
        if (!(bytes instanceof Uint8Array)) throw invalid('state must be a Uint8Array');
        const buf = copyIn(m, bytes);
        try {
          withError(m, (err) => check(m, m._mtw_alarm_restore(h, buf, bytes.length, err), err));
        } finally {
          m._free(buf);
        }
      },

      // Feed rows; returns the events. All or nothing: on an error the state
      // is as before the call.
      feed(tMs, v1 = null, v2 = null) {
        const h = live();
        const t = toF64(tMs, 'tMs');
        const a1 = v1 == null ? null : toF64(v1, 'v1');
        const a2 = v2 == null ? null : toF64(v2, 'v2');
        const n = t.length;
        if ((a1 && a1.length !== n) || (a2 && a2.length !== n)) {
          throw invalid('tMs, v1 and v2 must have the same length');
        }
        const snapshot = ev.saveState();
        const ptrs = [];
        const events = [];
        let off = 0;
        try {
          const tPtr = copyIn(m, t); ptrs.push(tPtr);
          const p1 = a1 ? copyIn(m, a1) : 0; ptrs.push(p1);
          const p2 = a2 ? copyIn(m, a2) : 0; ptrs.push(p2);
          const evPtr = alloc(m, EV_CAP * EVENT_N * 8); ptrs.push(evPtr);
          const cnt = alloc(m, 8); ptrs.push(cnt);
          withError(m, (err) => {
            for (;;) {
              const st = m._mtw_alarm_feed(h, tPtr + 8 * off, p1 ? p1 + 8 * off : 0,
                                           p2 ? p2 + 8 * off : 0, n - off, evPtr, EV_CAP, cnt, err);
              const used = m.HEAP32[cnt >> 2], nEv = m.HEAP32[(cnt >> 2) + 1];
              const f = new Float64Array(m.HEAPF64.buffer, evPtr, nEv * EVENT_N);
              for (let i = 0; i < nEv; i++) {
                const e = f.subarray(i * EVENT_N, (i + 1) * EVENT_N);
                events.push({
                  kind: KINDS[e[0]], channel: e[1], special: SV_NAMES[e[2]],
                  timeMs: e[3], values: [e[4], e[5]], row: off + e[6],
                });
              }
              if (st === -10 /* MT_ENOSPACE: buffer full, go on */) {
                off += used;
                continue;
              }
              check(m, st, err);
              return;
            }
          });
          return events;
        } catch (e) {
          if (e instanceof MetronError && e.code !== 'MT_ENOMEM') e.pos += off;
          ev.restoreState(snapshot);
          throw e;
        } finally {
          for (const p of ptrs) if (p) m._free(p);
        }
      },

      free() {
        if (handle) m._mtw_alarm_free(handle);
        handle = 0;
      },
    };
    return ev;
  }

  return { parseRule, formatRule, createEvaluator, STATE_SIZE };
}
