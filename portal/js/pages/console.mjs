// The console of an instrument (C1, C2, P18, P19; docs/console.md): the
// screen the instrument shows, in a fixed-width panel, and its operations.
// The page opens a session to operate; when someone else operates it (C2)
// or the plan allows watching only (P19 on Free) it says so in the
// server's sentence and watches instead, with the buttons disabled and the
// reason beside them; an administrator may take it over. The screens come
// as server-sent events; the instrument's answers and every refusal are
// shown as sentences. Leaving the page gives the console up. A reconnect
// (the server restarting, the network) sends the "resume" token the
// server gave with the session, so that the server continues the audited
// session rather than log a new console.open (docs/console.md).
import { registerPage } from '../router.mjs';
import { t, formatDateTime } from '../i18n.mjs';
import { api, apiUrl, errorMessage } from '../api.mjs';
import { API_CROSS_ORIGIN } from '../config.mjs';
import { h, fill } from '../ui/dom.mjs';
import { pageHead } from '../ui/crud.mjs';
import { isAdmin, session } from '../session.mjs';

const OPS = [
  ['start', 'console.start'], ['stop', 'console.stop'], ['restart', 'console.restart'],
  ['page_up', 'console.page_up'], ['page_down', 'console.page_down'],
];

/** "Ada Admin (ada) operates it since ..." or nobody, from a holder object. */
function holderText(holder) {
  if (!holder) return t('console.nobody');
  const me = session.user && holder.user_id === session.user.id;
  return t(me ? 'console.held_by_you' : 'console.held_by', {
    name: holder.name, login: holder.login_id, since: formatDateTime(Date.parse(holder.since)),
  });
}

/** The sentence of a console refusal in the person's language. */
function refusal(r) {
  const b = r.body || {};
  const hd = b.holder;
  if (b.code === 'console_held' && hd) {
    return t(isAdmin() ? 'console.held_admin' : 'console.held_member', {
      name: hd.name, login: hd.login_id, since: formatDateTime(Date.parse(hd.since)) });
  }
  if (b.code === 'console_not_held' && hd) return takenText(hd);
  return errorMessage(b, r.status);
}

/** "Bea Second (bea) took the console over at ...". */
function takenText(hd) {
  return t('console.taken_over', { name: hd.name, login: hd.login_id, at: formatDateTime(Date.parse(hd.since)) });
}

registerPage('console', {
  title: 'console.title',
  render(container, params) {
    const deviceId = Number(params.device);
    const screen = h('pre', { class: 'console-screen', 'data-testid': 'console-screen',
      'aria-live': 'off', text: t('console.waiting') });
    const who = h('p', { class: 'console-holder', 'data-testid': 'console-holder' });
    const notice = h('p', { class: 'notice', 'data-testid': 'console-notice', hidden: true });
    const status = h('p', { class: 'console-answer', role: 'status', 'data-testid': 'console-answer' });
    const reason = h('p', { class: 'muted', 'data-testid': 'console-reason', hidden: true });
    const interval = h('select', { 'data-testid': 'console-interval', 'aria-label': t('console.interval') });
    const buttons = new Map();
    let es = null;
    let sess = null;
    let resume = null; // the server's token that lets a reconnect continue the session
    let mode = 'view';
    let holder = null;
    let gone = false;
    let viewReason = '';
    let heldWhy = ''; // the sentence of why this page watches (C2, plan), kept while connected
    let retryTimer = null;
    let retryMs = 0;
    const answered = new Set(); // answers that came before their POST returned

    const say = (el, text, cls) => {
      el.hidden = !text;
      el.textContent = text || '';
      if (cls) el.className = `notice ${cls}`;
      // The buttons' reason under them is not said twice when the notice
      // above says the same (the broker out of reach: one sentence, once).
      if (el === notice || el === reason) {
        reason.hidden = !reason.textContent || (!notice.hidden && notice.textContent === reason.textContent);
      }
    };
    const setMode = (m, why) => {
      mode = m;
      if (why !== undefined) viewReason = why;
      const off = mode !== 'operate';
      for (const b of buttons.values()) {
        b.disabled = off;
        b.title = off ? viewReason : '';
      }
      interval.disabled = off;
      say(reason, off ? viewReason : '');
      takeOver.hidden = !(off && isAdmin() && holder && !(session.user && holder.user_id === session.user.id));
    };
    const operate = async (op, extra = {}) => {
      if (!sess || mode !== 'operate') return;
      const r = await api.post(`/devices/${deviceId}/console/operations`, { session: sess, op, ...extra });
      if (r.status !== 202) {
        say(status, refusal(r));
        if (r.status === 409) setMode('view', refusal(r));
      } else if (!answered.has(r.body.id)) {
        say(status, t('console.sent'));
      }
    };
    for (const [op, key] of OPS) {
      // i18n-keys: console.start, console.stop, console.restart, console.page_up, console.page_down
      const label = t(key);
      buttons.set(op, h('button', { type: 'button', class: 'small', 'data-testid': `console-${op}`,
        text: label, onclick: () => operate(op) }));
    }
    const setIv = h('button', { type: 'button', class: 'small', 'data-testid': 'console-set-interval',
      text: t('console.set_interval'), onclick: () => operate('interval', { interval_s: Number(interval.value) }) });
    buttons.set('interval', setIv);
    const takeOver = h('button', { type: 'button', class: 'small danger', 'data-testid': 'console-take-over',
      hidden: true, text: t('console.take_over'), onclick: () => open(true) });

    // The stream ended or could not be had (the server restarting — behind
    // a proxy that answers 502 meanwhile —, the network, a refusal): the
    // page opens the console again itself, after 1, 2, 4 ... at most 30
    // seconds, rather than let the browser reconnect the stream: the server
    // gave the console up when the stream ended, so the same session would
    // only watch, and a proxy's error page would end the browser's retries.
    const retryLater = (why) => {
      if (gone) return;
      if (es) { es.close(); es = null; }
      say(notice, why || t('console.closed'), 'warn');
      if (retryTimer) return;
      retryMs = Math.min(retryMs ? retryMs * 2 : 1000, 30000);
      retryTimer = setTimeout(() => { retryTimer = null; if (!gone) open(); }, retryMs);
    };

    const stream = () => {
      if (es) es.close();
      const q = sess && mode === 'operate' ? `?session=${sess}` : '';
      es = new EventSource(apiUrl(`/devices/${deviceId}/console/stream${q}`),
        { withCredentials: API_CROSS_ORIGIN });
      const data = (ev) => { try { return JSON.parse(ev.data); } catch { return {}; } };
      es.addEventListener('error', () => retryLater());
      es.addEventListener('console', (ev) => {
        const d = data(ev);
        retryMs = 0;
        holder = d.holder || null;
        who.textContent = `${d.model || ''} · ${d.serial || ''} — ${holderText(holder)}`;
        say(notice, d.connected ? heldWhy : t('console.app_disconnected'), 'warn');
        setMode(d.mode === 'operate' ? 'operate' : 'view', d.mode === 'operate' ? '' : (viewReason || holderText(holder)));
      });
      es.addEventListener('screen', (ev) => {
        const d = data(ev);
        screen.textContent = d.screen || '';
        const want = String(d.interval_s);
        if (interval.options.length !== (d.intervals || []).length) {
          fill(interval, (d.intervals || []).map((s) => h('option', { value: String(s), text: t('console.seconds', { n: s }) })));
        }
        if (document.activeElement !== interval) interval.value = want;
      });
      es.addEventListener('answer', (ev) => {
        const d = data(ev);
        answered.add(d.id);
        say(status, t(d.ok ? 'console.answer_ok' : 'console.answer_refused', { message: d.message || '' }));
      });
      es.addEventListener('lost', (ev) => {
        const d = data(ev);
        const msg = d.holder ? takenText(d.holder) : t('error.console_not_held');
        heldWhy = msg;
        resume = null;
        setMode('view', msg);
        say(notice, msg, 'warn');
        es.close();
        if (!gone) { sess = null; stream(); }
      });
      es.addEventListener('closed', () => retryLater());
    };

    const open = async (takeOverNow = false) => {
      const ask = takeOverNow ? { mode: 'operate', take_over: true } : { mode: 'operate' };
      if (resume && !takeOverNow) ask.resume = resume;
      let r = await api.post(`/devices/${deviceId}/console`, ask);
      let why = '';
      if ((r.status === 409 && r.body && r.body.code === 'console_held') ||
          (r.status === 403 && r.body && r.body.code === 'plan_limit')) {
        why = refusal(r);
        r = await api.post(`/devices/${deviceId}/console`, { mode: 'view' });
      }
      if (r.status === 0 || r.status >= 502) {
        // Not reached (or a proxy's error page), or not now (503: no broker,
        // too many consoles): again in a moment, with the server's sentence.
        retryLater(r.body && r.body.message ? refusal(r) : t('console.closed'));
        return;
      }
      if (r.status !== 201) {
        say(notice, refusal(r), 'error');
        screen.textContent = '';
        setMode('view', refusal(r));
        return;
      }
      sess = r.body.session;
      if (r.body.mode === 'operate') resume = r.body.resume || null;
      holder = r.body.holder;
      heldWhy = why;
      setMode(r.body.mode, why);
      say(notice, why, 'warn');
      if (gone) return;
      stream();
    };

    fill(container,
      pageHead(t('console.title')),
      h('p', { class: 'intro', text: t('console.intro') }),
      who, notice,
      h('section', { class: 'panel console-panel' }, screen),
      h('div', { class: 'page-tools console-tools' }, ...[...buttons.values()].filter((b) => b !== setIv),
        h('label', { class: 'console-iv' }, t('console.interval'), ' ', interval), setIv, takeOver),
      reason, status);
    setMode('view', t('console.waiting'));
    if (!Number.isSafeInteger(deviceId) || deviceId <= 0) {
      say(notice, t('console.no_device'), 'error');
      screen.textContent = '';
      return undefined;
    }
    open();
    return () => {
      gone = true;
      if (retryTimer) clearTimeout(retryTimer);
      if (es) es.close();
      if (sess && mode === 'operate') api.del(`/devices/${deviceId}/console?session=${sess}`);
    };
  },
});
