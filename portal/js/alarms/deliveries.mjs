// The delivery log (R8; docs/notify.md): what the outbox did with a
// notification — its state as a sentence, every attempt (when, how long,
// what the receiver answered) — a test send followed until it is delivered
// or refused, and the list of a destination's notifications.
import { t, has, formatNumber, formatDateTime } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { table } from '../ui/table.mjs';
import { showDialog } from '../ui/dialog.mjs';
import { toast } from '../ui/toast.mjs';

const FOLLOW_MS = 60000; // how long a test send is followed in its dialog
const when = (iso) => formatDateTime(iso, { seconds: true });

/** A delivery's state as a pill. */
export function statePill(state) {
  const cls = { sent: 'ok', dead: 'bad', cancelled: '', retry: 'warn', queued: 'accent', sending: 'accent' }[state] ?? '';
  return h('span', { class: `pill ${cls}`, 'data-testid': 'delivery-state', 'data-state': state, text: t(`dest.state.${state}`) });
}

/** What kind of notification it was, in words. */
export function kindText(kind) {
  const k = String(kind || '');
  if (k === 'test') return t('dest.what.test');
  if (k.startsWith('alarm.')) return has(`dest.what.${k.slice(6)}`) ? t(`dest.what.${k.slice(6)}`) : t('dest.what.alarm');
  if (k.startsWith('notice.')) return t('dest.what.notice');
  if (k.startsWith('auth.')) return t('dest.what.auth');
  return t('dest.what.other');
}

/** The sentence of a delivery's state (d: GET /deliveries/{id}). */
export function stateSentence(d) {
  const last = (d.log || [])[d.log ? d.log.length - 1 : 0] || {};
  switch (d.state) {
    case 'sent': return last.status
      ? t('dest.sentence.sent_status', { time: when(d.sent_at), status: String(last.status) })
      : t('dest.sentence.sent', { time: when(d.sent_at) });
    case 'retry': return t('dest.sentence.retry', { n: formatNumber(d.failures || 0), time: when(d.next_at) });
    case 'dead': return t('dest.sentence.dead', { n: formatNumber(d.attempts || 0) });
    case 'cancelled': return t('dest.sentence.cancelled');
    case 'sending': return t('dest.sentence.sending');
    default: return t('dest.sentence.queued');
  }
}

/** One attempt's outcome in words. */
function outcomeText(a) {
  if (!a.outcome) return t('dest.outcome.in_flight');
  const base = t(`dest.outcome.${a.outcome}`);
  return a.status ? `${base} ${t('dest.outcome.status', { status: String(a.status) })}` : base;
}

/** The attempts of a delivery as a table. */
function logTable(d) {
  return table([
    { label: '#', value: (a) => formatNumber(a.n) },
    { label: t('dest.log.started'), value: (a) => when(a.started_at) },
    { label: t('dest.log.outcome'), value: (a) => h('span', { 'data-testid': 'attempt-outcome', 'data-outcome': a.outcome || '', text: outcomeText(a) }) },
    { label: t('dest.log.duration'), value: (a) => (a.duration_ms === null || a.duration_ms === undefined ? '' : t('dest.log.ms', { ms: formatNumber(Math.round(a.duration_ms)) })) },
    { label: t('dest.log.detail'), class: 'prose', value: (a) => ((a.response || a.error) ? h('span', { class: 'mono small-text dl-detail', text: a.response || a.error }) : '') },
  ], d.log || [], { empty: t('dest.log.none') });
}

/** The detail of delivery "id" into "box": state sentence, text, attempts, retry. Returns the delivery. */
export async function drawDelivery(box, id, { onRetried } = {}) {
  const r = await api.get(`/deliveries/${id}`);
  if (r.status !== 200) { fill(box, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return null; }
  const d = r.body;
  fill(box,
    h('p', { class: 'dl-state', 'data-testid': 'delivery-sentence', 'data-state': d.state }, statePill(d.state), ' ', stateSentence(d)),
    h('dl', { class: 'kv' },
      h('dt', { text: t('dest.log.what') }), h('dd', { text: `${kindText(d.kind)} — ${d.title}` }),
      h('dt', { text: t('dest.log.created') }), h('dd', { text: when(d.created_at) }),
      d.body ? [h('dt', { text: t('dest.log.body') }), h('dd', { class: 'pre', text: d.body })] : null),
    h('h3', { text: t('dest.log.attempts') }), logTable(d),
    (d.state === 'dead' || d.state === 'cancelled') && !d.sensitive ? h('div', { class: 'form-buttons' },
      h('button', { type: 'button', class: 'small', 'data-testid': 'delivery-retry', text: t('dest.retry'), onclick: async () => {
        const rr = await api.post(`/deliveries/${id}/retry`, {});
        if (rr.status === 202) { toast(t('dest.retried'), 'ok'); await drawDelivery(box, id, { onRetried }); if (onRetried) onRetried(); }
        else toast(errorMessage(rr.body, rr.status), 'error', 8000);
      } })) : null);
  return d;
}

/** Show delivery "id" in a dialog, following it while it is on its way (a test send). */
export async function deliveryDialog(id, { title, follow = false } = {}) {
  const box = h('div', { class: 'dl-box', 'data-testid': 'delivery' }, h('p', { class: 'muted', text: t('common.loading') }));
  let open = true;
  const started = Date.now();
  const loop = async () => {
    while (open) {
      const d = await drawDelivery(box, id);
      if (!follow || !d || ['sent', 'dead', 'cancelled'].includes(d.state) || Date.now() - started > FOLLOW_MS) return;
      await new Promise((res) => setTimeout(res, 1000));
    }
  };
  const done = showDialog({ title: title || t('dest.log.title'), wide: true, body: [box], buttons: [{ label: t('common.close'), value: null }],
    onOpen: () => { loop(); } });
  await done;
  open = false;
}

/** Send a test message to destination "d" (or a G4 recipient with base '/notification-recipients') and follow it. */
export async function testSend(d, base = '/destinations') {
  const r = await api.post(`${base}/${d.id}/test`, {});
  if (r.status !== 202) { toast(errorMessage(r.body, r.status), 'error', 8000); return; }
  await deliveryDialog(r.body.delivery_id, { title: t('dest.test_title', { name: d.name || d.address }), follow: true });
}

/** The notifications sent to destination "d", newest first, each opening its log. */
export async function destinationLog(d) {
  const list = h('div', { 'data-testid': 'destination-log' });
  const more = h('div', { class: 'page-tools' });
  const rows = [];
  async function page(before) {
    const r = await api.get(`/deliveries?destination_id=${d.id}&limit=50${before ? `&before=${before}` : ''}`);
    if (r.status !== 200) { fill(list, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
    rows.push(...r.body.items);
    fill(list, table([
      { label: t('dest.log.created'), value: (x) => when(x.created_at) },
      { label: t('dest.log.what'), class: 'prose', value: (x) => h('div', { class: 'cell-stack' }, h('span', { text: kindText(x.kind) }), h('span', { class: 'muted small-text', text: x.title })) },
      { label: t('dest.log.state'), value: (x) => statePill(x.state) },
      { label: t('dest.log.tries'), class: 'num', value: (x) => formatNumber(x.attempts) },
      { label: t('common.actions'), class: 'actions', value: (x) => h('button', { type: 'button', class: 'small', 'data-testid': 'delivery-open',
        text: t('dest.log.open'), onclick: () => deliveryDialog(x.id) }) },
    ], rows, { empty: t('dest.log.empty') }));
    fill(more, r.body.next_before ? h('button', { type: 'button', text: t('alarms.older'), onclick: () => page(r.body.next_before) }) : null);
  }
  await page(null);
  await showDialog({ title: t('dest.log.list_title', { name: d.name || d.address }), wide: true, body: [list, more],
    buttons: [{ label: t('common.close'), value: null }] });
}

/**
 * Where the messages of alarm event "ev" went (administrators): its outbox
 * rows (keys alarm_event:<id>:raise|clear|special|repeat:<n>), found among
 * the deliveries of its kinds from the newest back to the event's time,
 * each with its state and the log of its attempts. Resolves an element.
 */
export async function eventDeliveries(ev) {
  const prefix = `alarm_event:${ev.id}:`;
  const kinds = ev.kind === 'raise' ? ['alarm.raise', 'alarm.repeat'] : ev.kind === 'clear' ? ['alarm.clear'] : ['alarm.special'];
  const since = Date.parse(ev.created_at) - 60000;
  const found = [];
  for (const kind of kinds) {
    let before = null;
    for (let pageN = 0; pageN < 10; pageN++) {
      const r = await api.get(`/deliveries?kind=${kind}&limit=200${before ? `&before=${before}` : ''}`);
      if (r.status !== 200) break;
      found.push(...r.body.items.filter((x) => String(x.key).startsWith(prefix)));
      const last = r.body.items[r.body.items.length - 1];
      if (!r.body.next_before || !last || Date.parse(last.created_at) < since) break;
      before = r.body.next_before;
    }
  }
  found.sort((a, b) => a.id - b.id);
  const dr = await api.get('/destinations');
  const names = new Map((dr.status === 200 ? dr.body.items : []).map((d) => [d.id, d.name || d.address]));
  const targetText = (x) => {
    const tg = x.target || {};
    if (tg.type === 'destination') return names.get(tg.destination_id) || t('dest.removed');
    return tg.address || t(`dest.channel.${x.channel}`);
  };
  return h('section', { class: 'panel', 'data-testid': 'event-deliveries' },
    h('h2', { text: t('dest.event_title') }),
    table([
      { label: t('dest.log.to'), value: (x) => h('div', { class: 'cell-stack' }, h('span', { text: targetText(x) }),
        h('span', { class: 'muted small-text', text: `${t(`dest.kind.${x.channel}`)} · ${kindText(x.kind)}` })) },
      { label: t('dest.log.state'), value: (x) => statePill(x.state) },
      { label: t('dest.log.tries'), class: 'num', value: (x) => formatNumber(x.attempts) },
      { label: t('common.actions'), class: 'actions', value: (x) => h('button', { type: 'button', class: 'small', 'data-testid': 'delivery-open',
        text: t('dest.log.open'), onclick: () => deliveryDialog(x.id) }) },
    ], found, { empty: t('dest.event_none') }));
}
