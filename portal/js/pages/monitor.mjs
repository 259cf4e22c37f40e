// Monitor (M1-M5): the current group's apps → devices → channels with their
// latest values (GET /groups/{id}/monitor), refreshed every minute;
// high-speed mode (M3: 5-second values for 10 minutes, with a countdown);
// the acquisition-channel selection per device within P10/P11 (M4); any
// channel opens in the viewer (M5); each instrument's firmware and, when it
// is below the supported-instrument table's minimum (I4), what it keeps
// from working and the version needed; a firmware upgrade (M6) asked of the
// app and followed until the app has carried it out.
//
// What can be trusted (docs/portal.md, "Monitor"): an app sends a batch
// every minute, so an app counts as connected only while the server has
// heard from it within STALE_MS (3 minutes: three missed minutes) and it has
// not said goodbye; otherwise the page says how long ago the last contact
// was. Every value shows its age and is marked stale once it is older than
// STALE_MS; ages are redrawn every 10 s. In high-speed mode the bar says
// when it ends and whether 5-second values are arriving (none for
// LIVE_SILENT_MS: "not arriving").
import { registerPage, navigate, hrefFor } from '../router.mjs';
import { t, formatNumber, formatDateTime, formatTime, formatAgo, language, joinSentences } from '../i18n.mjs';
import { api, errorMessage, quotaName, planName } from '../api.mjs';
import { session, on, isAdmin, plan } from '../session.mjs';
import { h, fill, icon } from '../ui/dom.mjs';
import { noGroupNotice } from '../ui/no_group.mjs';
import { pageHead } from '../ui/crud.mjs';
import { raisedAlarms } from '../alarms/active.mjs';
import { showDialog } from '../ui/dialog.mjs';
import { toast } from '../ui/toast.mjs';
import { addToDashboardButton } from '../dash/monitor_add.mjs';
import { value as fmtValue } from '../chart/format.mjs';

const REFRESH_MS = 60000;
const LIVE_POLL_MS = 5000;
export const STALE_MS = 3 * 60000; // an app or a value older than this is not current
const LIVE_SILENT_MS = 15000; // high-speed: no 5-second value for this long = not arriving
const TICK_MS = 10000;
const SPECIAL = { '+over': 'special.over_pos', '-over': 'special.over_neg', break: 'special.break',
  error: 'special.error', missing: 'special.missing' };
// The chart's marks for the same special values (chart/marks.mjs), so the two pages agree.
const SPECIAL_MARK = { '+over': '▲', '-over': '▼', break: '✕', error: '◆', missing: '○' };

/**
 * The text of a value: a number for the language by the portal's one rule
 * (chart/format.mjs value(): the channel's decimals when it has them, else
 * 5 significant digits), or a word for a special value.
 */
export function valueText(v, decimals = null) {
  if (v === null || v === undefined) return { text: t('monitor.no_value'), cls: 'none' };
  if (typeof v === 'string') {
    return { text: SPECIAL[v] ? t(SPECIAL[v]) : t('special.error'), cls: 'special', mark: SPECIAL_MARK[v] || '◆', kind: v };
  }
  return { text: fmtValue(language(), v, decimals), cls: '' };
}

/** Draw a channel's value, time and age into its cells (also for 5-second values). */
function showValue(cell, v, tMs) {
  const val = valueText(v, cell.decimals);
  cell.valueEl.textContent = val.mark ? `${val.mark} ${val.text}` : val.text;
  cell.valueEl.className = ['channel-value', val.cls].filter(Boolean).join(' ');
  if (val.kind) cell.valueEl.dataset.special = val.kind; else delete cell.valueEl.dataset.special;
  cell.unitEl.hidden = !!val.cls;
  cell.t = tMs;
  cell.timeEl.textContent = tMs ? formatDateTime(tMs, { seconds: true }) : '';
  age(cell);
}

/** The age of a channel's value, and whether it is stale (older than STALE_MS). */
function age(cell) {
  if (!cell.t) {
    cell.ageEl.textContent = '';
    cell.card.classList.remove('stale');
    return;
  }
  const old = Date.now() - cell.t;
  const stale = old > STALE_MS;
  cell.ageEl.textContent = stale ? t('monitor.value_stale', { ago: formatAgo(cell.t) }) : formatAgo(cell.t);
  cell.card.classList.toggle('stale', stale);
  cell.card.dataset.stale = String(stale);
}

function channelCard(ch, cells) {
  const valueEl = h('span', { class: 'channel-value', 'data-testid': 'channel-value' });
  const timeEl = h('span', { class: 'channel-time' });
  const ageEl = h('span', { class: 'channel-age', 'data-testid': 'channel-age' });
  const unitEl = h('span', { class: 'channel-unit', text: ch.unit || '' });
  const card = h('button', {
    type: 'button', class: ['channel', !ch.selected && ch.selected !== undefined && 'unselected'],
    'data-channel': String(ch.id), title: t('monitor.open_viewer'),
    onclick: () => navigate('viewer', { channels: ch.id }),
  }, h('span', { class: 'channel-name', text: `${ch.name || ch.key}${ch.key && ch.name && ch.name !== ch.key ? ` · ${ch.key}` : ''}` }),
  h('span', {}, valueEl, unitEl), h('span', { class: 'channel-when' }, ageEl, timeEl),
  ch.selected === false ? h('span', { class: 'pill', text: t('monitor.not_acquired') }) : null);
  const cell = { card, valueEl, timeEl, ageEl, unitEl, unit: ch.unit || '', decimals: ch.decimals ?? null, t: 0 };
  cells.set(ch.id, cell);
  showValue(cell, ch.latest ? ch.latest.v : null, ch.latest ? ch.latest.t / 1000 : 0);
  return card;
}

const FUNCTIONS = ['monitoring', 'drive_data', 'drive_files', 'alarms', 'console'];
const REQUEST_POLL_MS = 2000;
const REQUEST_FOLLOW_MS = 5 * 60000; // then the page stops asking (the request lives 10 minutes)

/**
 * What the firmware of device "d" (an item of GET /apps/{id}/devices, with
 * "functions" per I4) keeps from working, as sentences in the reader's
 * language, e.g. "Firmware V1.50 or later is needed for monitoring, alarms
 * and the console."; null when nothing. Functions the model has under no firmware
 * (the table's "-") are not a firmware matter and are left out.
 */
export function firmwareLimits(d) {
  if (!d || !d.functions) return null;
  const byVersion = new Map();
  for (const f of FUNCTIONS) {
    const x = d.functions[f];
    if (!x || x.allowed !== false || !x.min_firmware) continue;
    if (!byVersion.has(x.min_firmware)) byVersion.set(x.min_firmware, []);
    byVersion.get(x.min_firmware).push(t(`function.${f}`));
  }
  if (!byVersion.size) return null;
  const list = new Intl.ListFormat(language(), { type: 'conjunction' });
  return joinSentences([...byVersion].map(([version, fns]) => t('monitor.fw_needs', { functions: list.format(fns), version })));
}

/** Follow request "req" of app "appId" until the app has answered it. */
async function followUpgrade(appId, req, label, reload) {
  const until = Date.now() + REQUEST_FOLLOW_MS;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, REQUEST_POLL_MS));
    const r = await api.get(`/apps/${appId}/requests/${req.id}`);
    if (r.status !== 200) continue;
    const { state } = r.body;
    if (state === 'pending') continue;
    if (state === 'done') toast(t('monitor.fw_done', { device: label, version: req.firmware }), 'ok', 10000);
    else if (state === 'expired') toast(t('monitor.fw_expired', { device: label }), 'error', 10000);
    else toast(t('monitor.fw_failed', { device: label, version: req.firmware }), 'error', 10000);
    reload();
    return;
  }
  toast(t('monitor.fw_still_pending', { device: label }), 'info', 10000);
}

/** Ask the app of device "d" to install a newer firmware on it (M6). */
export async function upgradeDialog(d, appId, info, reload) {
  const label = d.name || `${d.model} ${d.serial}`;
  const needed = info && info.functions ? FUNCTIONS.map((f) => info.functions[f])
    .filter((x) => x && x.allowed === false && x.min_firmware).map((x) => x.min_firmware) : [];
  await showDialog({
    title: t('monitor.fw_title', { device: label }),
    onOpen(dlg, close) {
      const input = h('input', { name: 'firmware', id: 'fw-version', maxlength: 32, required: true,
        placeholder: needed[0] || 'V2.30', 'data-testid': 'fw-version' });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'fw-error' });
      const form = h('form', { class: 'form', novalidate: true },
        h('p', { class: 'muted', text: t('monitor.fw_help') }),
        info && info.firmware ? h('p', { text: t('monitor.firmware', { version: info.firmware }) }) : null,
        h('label', { for: 'fw-version', text: t('monitor.fw_new') }), input, err,
        h('div', { class: 'form-buttons' },
          h('button', { type: 'button', onclick: () => close(null), text: t('common.cancel') }),
          h('button', { type: 'submit', class: 'primary', 'data-testid': 'fw-submit', text: t('monitor.fw_ask') })));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const res = await api.post(`/devices/${d.id}/firmware-upgrade`, { firmware: input.value.trim() });
        if (res.status === 202) {
          close(true);
          toast(t('monitor.fw_requested', { device: label, version: res.body.firmware }), 'ok', 10000);
          followUpgrade(appId, res.body, label, reload);
        } else {
          err.textContent = errorMessage(res.body, res.status, { fieldLabel: t('field.firmware') });
          err.hidden = false;
        }
      });
      dlg.querySelector('.dialog-body').append(form);
      input.focus();
    },
  });
}

const SC_STATES = ['ok', 'attention', 'upgrading', 'not_registered'];

/** The app's self-check answer "req" (GET /apps/{id}/requests/{rid}) as nodes. */
function selfCheckResult(req, devices) {
  if (req.state === 'expired') return [h('p', { class: 'form-error', text: t('monitor.sc_expired') })];
  const res = req.result && typeof req.result === 'object' ? req.result : {};
  const ins = Array.isArray(res.instruments) ? res.instruments : [];
  if (req.state === 'failed' && !ins.length) return [h('p', { class: 'form-error', text: t('monitor.sc_failed') })];
  const bad = ins.filter((i) => i.state !== 'ok').length;
  const out = [h('p', { 'data-testid': 'sc-summary', class: bad || req.state === 'failed' ? 'form-error' : '',
    text: bad ? t('monitor.sc_attention', { n: formatNumber(bad), total: formatNumber(ins.length) })
      : req.state === 'failed' ? t('monitor.sc_failed') : t('monitor.sc_ok') })];
  if (res.app && typeof res.app.spooled_batches === 'number') {
    out.push(h('p', { class: 'muted', text: t('monitor.sc_spool', { n: formatNumber(res.app.spooled_batches) }) }));
  }
  if (ins.length) {
    out.push(h('ul', { class: 'sc-list', 'data-testid': 'sc-instruments' }, ins.map((i) => {
      const dev = devices.find((d) => d.id === i.device_id);
      const state = SC_STATES.includes(i.state) ? i.state : 'unknown';
      const problems = Array.isArray(i.problems) ? i.problems.filter((x) => typeof x === 'string') : [];
      return h('li', { 'data-state': state },
        h('strong', { text: dev ? (dev.name || dev.model) : `${i.model || ''} ${i.serial || ''}`.trim() }), ' ',
        h('span', { class: `pill ${state === 'ok' ? 'ok' : 'warn'}`, text: t(`monitor.sc_state_${state}`) }),
        typeof i.channels === 'number' && typeof i.selected === 'number'
          ? h('span', { class: 'muted small-text', text: ` ${t('monitor.sc_channels', { selected: formatNumber(i.selected), channels: formatNumber(i.channels) })}` }) : null,
        problems.length ? h('div', { class: 'small-text', text: t('monitor.sc_problems', { problems: problems.join('; ') }) }) : null);
    })));
  }
  return out;
}

/** Ask app "app" for its self-check (M4) and show its answer when it comes. */
export async function selfCheckDialog(app) {
  const r = await api.post(`/apps/${app.id}/self-check`);
  if (r.status !== 202) { toast(errorMessage(r.body, r.status), 'error'); return; }
  const rid = r.body.id;
  await showDialog({
    title: t('monitor.sc_title', { app: app.name }),
    wide: true,
    buttons: [{ label: t('common.close'), value: null }],
    onOpen(dlg) {
      const box = h('div', { 'data-testid': 'sc-result', 'aria-live': 'polite' },
        h('p', { class: 'muted', text: t('monitor.sc_waiting') }));
      dlg.querySelector('.dialog-body').append(box);
      const until = Date.now() + REQUEST_FOLLOW_MS;
      const poll = async () => {
        if (!dlg.isConnected) return;
        const q = await api.get(`/apps/${app.id}/requests/${rid}`);
        if (q.status === 200 && q.body.state !== 'pending') {
          fill(box, selfCheckResult(q.body, app.devices || []));
          box.dataset.state = q.body.state;
          return;
        }
        if (Date.now() > until) { fill(box, h('p', { text: t('monitor.sc_still_pending') })); return; }
        setTimeout(poll, REQUEST_POLL_MS);
      };
      setTimeout(poll, REQUEST_POLL_MS);
    },
  });
}

export async function selectionDialog(device, reload) {
  const r = await api.get(`/devices/${device.id}/channels`);
  if (r.status !== 200) { toast(errorMessage(r.body, r.status), 'error'); return; }
  const { items, selection_limit: lim } = r.body;
  const limit = lim && lim.limit;
  await showDialog({
    title: t('monitor.selection_title', { device: device.name || `${device.model} ${device.serial}` }),
    wide: true,
    onOpen(dlg, close) {
      const count = h('strong', { 'data-testid': 'selection-count' });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'selection-error' });
      const boxes = items.map((c) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', value: String(c.id), checked: c.selected }),
        h('span', { text: `${c.name || c.key} (${c.key})${c.unit ? ` [${c.unit}]` : ''}` })));
      const update = () => {
        const n = boxes.filter((b) => b.firstChild.checked).length;
        count.textContent = limit === null || limit === undefined
          ? t('monitor.selection_count_nolimit', { n: formatNumber(n) })
          : t('monitor.selection_count', { n: formatNumber(n), limit: formatNumber(limit) });
      };
      boxes.forEach((b) => b.firstChild.addEventListener('change', update));
      update();
      const form = h('form', { class: 'form', id: 'selection-form', novalidate: true },
        h('p', { class: 'muted', text: t('monitor.selection_help', {
          quota: quotaName(lim ? lim.quota : 'P10'),
          plan: planName(plan()), limit: limit === null || limit === undefined ? '—' : formatNumber(limit) }) }),
        h('p', {}, count), err,
        items.length ? h('div', { class: 'checks' }, boxes) : h('p', { class: 'empty', text: t('monitor.no_channels') }),
        h('div', { class: 'form-buttons' },
          h('button', { type: 'button', onclick: () => close(null), text: t('common.cancel') }),
          h('button', { type: 'submit', class: 'primary', text: t('common.save') })));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const ids = boxes.filter((b) => b.firstChild.checked).map((b) => Number(b.firstChild.value));
        const res = await api.put(`/devices/${device.id}/selection`, { channel_ids: ids });
        if (res.status === 200) { toast(t('common.saved'), 'ok'); close(true); reload(); } else {
          err.textContent = errorMessage(res.body, res.status);
          err.hidden = false;
        }
      });
      dlg.querySelector('.dialog-body').append(form);
    },
  });
}

/**
 * An app's state from what the API gives today (connected, last_seen_at):
 * connected only while the last contact is under STALE_MS old and the app
 * has not said goodbye. [pill class, catalogue key, params].
 */
export function appState(app, now = Date.now()) {
  if (!app.enabled) return ['bad', 'monitor.app_disabled', {}];
  const seen = app.last_seen_at ? Date.parse(app.last_seen_at) : NaN;
  if (!Number.isFinite(seen)) return ['warn', 'monitor.never_seen', {}];
  if (app.connected && now - seen <= STALE_MS) return ['ok', 'monitor.connected', {}];
  if (app.connected) return ['warn', 'monitor.no_contact', {}];
  return ['warn', 'monitor.disconnected', {}];
}

function drawAppState(app, pill, contact) {
  const [cls, key, params] = appState(app);
  pill.className = `pill ${cls}`;
  pill.textContent = t(key, params);  // i18n-keys: monitor.app_disabled, monitor.never_seen, monitor.connected, monitor.no_contact, monitor.disconnected
  pill.dataset.state = key.split('.')[1];
  contact.textContent = app.last_seen_at
    ? t('monitor.last_contact', { when: formatAgo(app.last_seen_at), at: formatDateTime(app.last_seen_at, { seconds: true }) })
    : t('monitor.never_contact');
}

/** The firmware line of a device: its version and, below the minimum, why. */
function firmwareLine(info) {
  if (!info || !info.firmware) return null;
  const why = firmwareLimits(info);
  return h('p', { class: 'device-firmware small-text', 'data-testid': 'device-firmware' },
    h('span', { class: 'muted', text: t('monitor.firmware', { version: info.firmware }) }), ' ',
    why ? h('span', { class: 'pill warn', 'data-testid': 'firmware-why', text: why }) : null);
}

function appPanel(app, cells, reload, apps, details) {
  const pill = h('span', { 'data-testid': 'app-state' });
  const contact = h('span', { class: 'muted small-text', 'data-testid': 'app-contact' });
  drawAppState(app, pill, contact);
  apps.push({ app, pill, contact });
  return h('section', { class: 'panel app-card', 'data-app': String(app.id) },
    h('div', { class: 'panel-head' },
      h('div', { class: 'app-title' }, h('h2', { text: app.name }),
        h('span', { class: 'pill', text: t(`app_kind.${app.kind}`) }), pill),
      h('div', { class: 'page-tools' }, contact,
        app.enabled ? h('button', { type: 'button', class: 'small', 'data-testid': 'self-check',
          text: t('monitor.sc_button'), onclick: () => selfCheckDialog(app) }) : null)),
    app.devices.length ? app.devices.map((d) => {
      const selected = d.channels.filter((c) => c.selected);
      const info = details.get(d.id);
      return h('div', { class: 'device', 'data-device': String(d.id) },
        h('div', { class: 'device-head' },
          h('h3', {}, d.name || d.model, ' ', h('span', { class: 'muted small-text', text: `${d.model} · ${d.serial}` })),
          h('div', { class: 'page-tools' },
            selected.length ? h('button', { type: 'button', class: 'small', text: t('monitor.open_device'),
              onclick: () => navigate('viewer', { channels: selected.map((c) => c.id) }) }) : null,
            isAdmin() ? h('button', { type: 'button', class: 'small', 'data-testid': 'select-channels',
              text: t('monitor.choose_channels'), onclick: () => selectionDialog(d, reload) }) : null,
            // C1: the instrument's console (the server says when it has none).
            h('a', { class: 'button small', 'data-testid': 'open-console', href: hrefFor('console', { device: d.id }),
              text: t('console.open') }),
            isAdmin() ? h('button', { type: 'button', class: 'small', 'data-testid': 'firmware-upgrade',
              text: t('monitor.fw_upgrade'), onclick: () => upgradeDialog(d, app.id, info, reload) }) : null,
            // M6: the device's acquired channels as a dashboard panel.
            selected.length ? addToDashboardButton(selected, d.name || d.model) : null)),
        firmwareLine(info),
        d.channels.length ? h('div', { class: 'channels' }, d.channels.map((c) => channelCard(c, cells)))
          : h('p', { class: 'empty', text: t('monitor.no_channels') }));
    }) : h('p', { class: 'empty', text: t('monitor.no_devices') }));
}

registerPage('monitor', {
  title: 'nav.monitor',
  async render(container) {
    let timer = null;
    let liveTimer = null;
    let tickTimer = null;
    let liveUntil = null; // ms
    let liveSince = 0; // µs
    let liveStarted = 0; // ms: when this page saw high-speed mode start
    let liveLast = 0; // ms: the newest 5-second value's time
    let liveEnded = 0; // ms: when high-speed mode ended while the page was open
    let stopped = false;
    let ageTimer = null;
    const cells = new Map();
    const appRows = []; // [{app, pill, contact}] for the 10-second redraw of states and ages
    const status = h('p', { class: 'monitor-status', role: 'status' });
    const liveBox = h('div', { class: 'live-bar' });
    const body = h('div', { class: 'monitor-body' });
    const raised = raisedAlarms(); // the group's alarms raised now (alarms/active.mjs)

    const groupName = () => {
      const g = session.groups.find((x) => x.id === session.groupId);
      return g ? g.name : '';
    };

    function drawLive() {
      const gid = session.groupId;
      if (!gid) { fill(liveBox); return; }
      const now = Date.now();
      if (liveUntil && liveUntil > now) {
        const left = Math.max(0, Math.round((liveUntil - now) / 1000));
        const mm = String(Math.floor(left / 60));
        const ss = String(left % 60).padStart(2, '0');
        // Are 5-second values arriving?
        let arrival;
        if (liveLast && now - liveLast <= LIVE_SILENT_MS) {
          arrival = ['ok', t('monitor.live_arriving', { ago: formatAgo(liveLast) }), 'arriving'];
        } else if (liveLast) {
          arrival = ['warn', t('monitor.live_stalled', { ago: formatAgo(liveLast) }), 'stalled'];
        } else if (now - liveStarted > LIVE_SILENT_MS) {
          arrival = ['warn', t('monitor.live_none'), 'none'];
        } else {
          arrival = ['', t('monitor.live_waiting'), 'waiting'];
        }
        fill(liveBox, h('span', { class: 'pill accent', text: t('monitor.live_on') }),
          h('span', { class: 'countdown', 'data-testid': 'live-countdown', 'aria-label': t('monitor.live_left'), text: `${mm}:${ss}` }),
          h('span', { class: 'muted small-text', 'data-testid': 'live-ends',
            text: t('monitor.live_ends', { time: formatTime(liveUntil, { seconds: true }) }) }),
          h('span', { class: `pill ${arrival[0]}`, 'data-testid': 'live-arrival', 'data-state': arrival[2], text: arrival[1] }),
          h('button', { type: 'button', class: 'small', 'data-testid': 'live-stop', text: t('monitor.live_stop'), onclick: stopLive }));
      } else {
        fill(liveBox, liveEnded ? h('span', { class: 'muted small-text', 'data-testid': 'live-ended',
          text: t('monitor.live_ended', { time: formatTime(liveEnded, { seconds: true }) }) }) : null,
        h('button', { type: 'button', class: 'small', 'data-testid': 'live-start',
          text: t('monitor.live_start'), onclick: startLive }));
      }
    }
    async function startLive() {
      const r = await api.post(`/groups/${session.groupId}/live`, {});
      if (r.status !== 200) { toast(errorMessage(r.body, r.status), 'error'); return; }
      liveUntil = r.body.until / 1000;
      liveSince = Date.now() * 1000 - 60e6;
      liveStarted = Date.now();
      liveLast = 0;
      liveEnded = 0;
      runLive();
    }
    async function stopLive() {
      await api.del(`/groups/${session.groupId}/live`);
      liveUntil = null;
      liveEnded = Date.now();
      clearTimeout(liveTimer);
      drawLive();
    }
    function runLive() {
      clearTimeout(liveTimer);
      clearInterval(tickTimer);
      drawLive();
      tickTimer = setInterval(() => {
        if (liveUntil && liveUntil <= Date.now()) { liveEnded = liveUntil; liveUntil = null; clearInterval(tickTimer); }
        drawLive();
      }, 1000);
      const poll = async () => {
        if (stopped || !liveUntil) return;
        const r = await api.get(`/groups/${session.groupId}/live?since=${Math.floor(liveSince)}`);
        if (r.status === 200) {
          const until = r.body.until ? r.body.until / 1000 : null;
          if (!until && liveUntil) liveEnded = Math.min(Date.now(), liveUntil);
          liveUntil = until;
          for (const ch of r.body.channels || []) {
            const cell = cells.get(ch.id);
            const n = ch.t.length;
            if (!n) continue;
            liveLast = Math.max(liveLast, ch.t[n - 1] / 1000);
            liveSince = Math.max(liveSince, ch.t[n - 1] + 1);
            if (cell) showValue(cell, ch.v[n - 1], ch.t[n - 1] / 1000);
          }
          drawLive();
        }
        if (liveUntil) liveTimer = setTimeout(poll, LIVE_POLL_MS);
      };
      poll();
    }

    async function load() {
      clearTimeout(timer);
      const gid = session.groupId;
      if (!gid) {
        fill(body, noGroupNotice(t('monitor.no_group')));
        fill(status);
        drawLive();
        return;
      }
      const r = await api.get(`/groups/${gid}/monitor`);
      raised.load(gid);
      if (stopped || !container.isConnected || gid !== session.groupId) return;
      if (r.status !== 200) {
        fill(body, h('p', { class: 'form-error', role: 'alert', text: errorMessage(r.body, r.status) }));
      } else {
        cells.clear();
        appRows.length = 0;
        const apps = r.body.apps || [];
        const computed = r.body.computed || [];
        // Each device's firmware and what it allows (I4): the apps' device lists.
        const details = new Map();
        await Promise.all(apps.map(async (a) => {
          const dr = await api.get(`/apps/${a.id}/devices`);
          if (dr.status === 200) for (const d of dr.body.items || []) details.set(d.id, d);
        }));
        // Moved on while this loaded (the router detaches a page still
        // loading and stops it only once its first load returns): no more
        // requests, such as the high-speed check below.
        if (stopped || !container.isConnected || gid !== session.groupId) return;
        fill(body, apps.length ? apps.map((a) => appPanel(a, cells, load, appRows, details))
          : h('div', { class: 'notice' }, h('p', { text: t('monitor.no_apps') }),
            isAdmin() ? h('a', { href: '#/admin/apps', text: t('nav.admin_apps') }) : null),
        computed.length ? h('section', { class: 'panel' }, h('h2', { text: t('monitor.computed') }),
          h('div', { class: 'channels' }, computed.map((c) => channelCard(c, cells)))) : null);
        fill(status, t('monitor.updated', { time: formatTime(Date.now(), { seconds: true }) }),
          h('span', { class: 'sep', 'aria-hidden': 'true', text: '·' }), h('span', { text: t('monitor.every_minute') }),
          h('span', { class: 'sep', 'aria-hidden': 'true', text: '·' }), h('span', { 'data-testid': 'stale-rule', text: t('monitor.stale_rule', { minutes: STALE_MS / 60000 }) }));
      }
      // Is high-speed mode on already (started by someone else)?
      if (!liveUntil) {
        const lv = await api.get(`/groups/${gid}/live?since=${Date.now() * 1000}`);
        if (lv.status === 200 && lv.body.until) {
          liveUntil = lv.body.until / 1000;
          liveSince = Date.now() * 1000 - 60e6;
          liveStarted = Date.now();
          runLive();
        }
        else drawLive();
      }
      timer = setTimeout(load, REFRESH_MS);
    }

    const head = () => fill(container, pageHead(groupName() ? t('monitor.title', { group: groupName() }) : t('nav.monitor'),
      liveBox, h('button', { type: 'button', class: 'small', 'aria-label': t('common.refresh'), onclick: load }, icon('refresh'), t('common.refresh'))),
    status, raised.el, body);
    head();
    // Ages and app states move on between refreshes.
    ageTimer = setInterval(() => {
      for (const c of cells.values()) age(c);
      for (const a of appRows) drawAppState(a.app, a.pill, a.contact);
    }, TICK_MS);
    const off = on('group', () => {
      liveUntil = null;
      liveLast = 0;
      liveEnded = 0;
      clearTimeout(liveTimer);
      clearInterval(tickTimer);
      head();
      load();
    });
    await load();
    return () => {
      stopped = true;
      clearInterval(ageTimer);
      off();
      clearTimeout(timer);
      clearTimeout(liveTimer);
      clearInterval(tickTimer);
    };
  },
});
