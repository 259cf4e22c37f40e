// Monitor (M1-M5): the current group's apps → devices → channels with their
// latest values (GET /groups/{id}/monitor), refreshed every minute;
// high-speed mode (M3: 5-second values for 10 minutes, with a countdown);
// the acquisition-channel selection per device within P10/P11 (M4); any
// channel opens in the viewer (M5).
import { registerPage, navigate } from '../router.mjs';
import { t, formatNumber, formatDateTime, formatAgo } from '../i18n.mjs';
import { api, errorMessage, quotaName, planName } from '../api.mjs';
import { session, on, isAdmin, plan } from '../session.mjs';
import { h, fill, icon } from '../ui/dom.mjs';
import { pageHead } from '../ui/crud.mjs';
import { showDialog } from '../ui/dialog.mjs';
import { toast } from '../ui/toast.mjs';

const REFRESH_MS = 60000;
const LIVE_POLL_MS = 5000;
const SPECIAL = { '+over': 'special.over_pos', '-over': 'special.over_neg', break: 'special.break',
  error: 'special.error', missing: 'special.missing' };

/** The text of a value: a number for the language, or a word for a special value. */
export function valueText(v) {
  if (v === null || v === undefined) return { text: t('monitor.no_value'), cls: 'none' };
  if (typeof v === 'string') return { text: SPECIAL[v] ? t(SPECIAL[v]) : v, cls: 'special' };
  return { text: formatNumber(v, { maximumSignificantDigits: 7 }), cls: '' };
}

function channelCard(ch, cells) {
  const val = valueText(ch.latest ? ch.latest.v : null);
  const valueEl = h('span', { class: ['channel-value', val.cls], text: val.text });
  const timeEl = h('span', { class: 'channel-time', text: ch.latest ? formatDateTime(ch.latest.t / 1000, { timeStyle: 'medium', dateStyle: 'short' }) : '' });
  const unitEl = h('span', { class: 'channel-unit', text: ch.unit || '' });
  cells.set(ch.id, { valueEl, timeEl, unitEl, unit: ch.unit || '' });
  return h('button', {
    type: 'button', class: ['channel', !ch.selected && ch.selected !== undefined && 'unselected'],
    'data-channel': String(ch.id), title: t('monitor.open_viewer'),
    onclick: () => navigate('viewer', { channels: ch.id }),
  }, h('span', { class: 'channel-name', text: `${ch.name || ch.key}${ch.key && ch.name && ch.name !== ch.key ? ` · ${ch.key}` : ''}` }),
  h('span', {}, valueEl, val.cls ? null : unitEl), timeEl,
  ch.selected === false ? h('span', { class: 'pill', text: t('monitor.not_acquired') }) : null);
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

function appPanel(app, cells, reload) {
  const status = !app.enabled ? ['bad', 'monitor.app_disabled']
    : app.connected ? ['ok', 'monitor.connected'] : ['warn', 'monitor.disconnected'];
  return h('section', { class: 'panel app-card', 'data-app': String(app.id) },
    h('div', { class: 'panel-head' },
      h('div', { class: 'app-title' }, h('h2', { text: app.name }),
        h('span', { class: 'pill', text: t(`app_kind.${app.kind}`) }),
        h('span', { class: `pill ${status[0]}`, text: t(status[1]) })),
      h('span', { class: 'muted small-text', text: app.last_seen_at
        ? t('monitor.last_seen', { when: formatAgo(app.last_seen_at), at: formatDateTime(app.last_seen_at) })
        : t('monitor.never_seen') })),
    app.devices.length ? app.devices.map((d) => {
      const selected = d.channels.filter((c) => c.selected);
      return h('div', { class: 'device', 'data-device': String(d.id) },
        h('div', { class: 'device-head' },
          h('h3', {}, d.name || d.model, ' ', h('span', { class: 'muted small-text', text: `${d.model} · ${d.serial}` })),
          h('div', { class: 'page-tools' },
            selected.length ? h('button', { type: 'button', class: 'small', text: t('monitor.open_device'),
              onclick: () => navigate('viewer', { channels: selected.map((c) => c.id) }) }) : null,
            isAdmin() ? h('button', { type: 'button', class: 'small', 'data-testid': 'select-channels',
              text: t('monitor.choose_channels'), onclick: () => selectionDialog(d, reload) }) : null)),
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
    let stopped = false;
    const cells = new Map();
    const status = h('p', { class: 'monitor-status', role: 'status' });
    const liveBox = h('div', { class: 'live-bar' });
    const body = h('div', { class: 'monitor-body' });

    const groupName = () => {
      const g = session.groups.find((x) => x.id === session.groupId);
      return g ? g.name : '';
    };

    function drawLive() {
      const gid = session.groupId;
      if (!gid) { fill(liveBox); return; }
      if (liveUntil && liveUntil > Date.now()) {
        const left = Math.max(0, Math.round((liveUntil - Date.now()) / 1000));
        const mm = String(Math.floor(left / 60));
        const ss = String(left % 60).padStart(2, '0');
        fill(liveBox, h('span', { class: 'pill accent', text: t('monitor.live_on') }),
          h('span', { class: 'countdown', 'data-testid': 'live-countdown', 'aria-label': t('monitor.live_left'), text: `${mm}:${ss}` }),
          h('button', { type: 'button', class: 'small', 'data-testid': 'live-stop', text: t('monitor.live_stop'), onclick: stopLive }));
      } else {
        fill(liveBox, h('button', { type: 'button', class: 'small', 'data-testid': 'live-start',
          text: t('monitor.live_start'), onclick: startLive }));
      }
    }
    async function startLive() {
      const r = await api.post(`/groups/${session.groupId}/live`, {});
      if (r.status !== 200) { toast(errorMessage(r.body, r.status), 'error'); return; }
      liveUntil = r.body.until / 1000;
      liveSince = Date.now() * 1000 - 60e6;
      runLive();
    }
    async function stopLive() {
      await api.del(`/groups/${session.groupId}/live`);
      liveUntil = null;
      clearTimeout(liveTimer);
      drawLive();
    }
    function runLive() {
      clearTimeout(liveTimer);
      clearInterval(tickTimer);
      drawLive();
      tickTimer = setInterval(() => {
        if (liveUntil && liveUntil <= Date.now()) { liveUntil = null; clearInterval(tickTimer); }
        drawLive();
      }, 1000);
      const poll = async () => {
        if (stopped || !liveUntil) return;
        const r = await api.get(`/groups/${session.groupId}/live?since=${Math.floor(liveSince)}`);
        if (r.status === 200) {
          liveUntil = r.body.until ? r.body.until / 1000 : null;
          for (const ch of r.body.channels || []) {
            const cell = cells.get(ch.id);
            const n = ch.t.length;
            if (!cell || !n) continue;
            const v = valueText(ch.v[n - 1]);
            cell.valueEl.textContent = v.text;
            cell.valueEl.className = `channel-value ${v.cls}`;
            cell.timeEl.textContent = formatDateTime(ch.t[n - 1] / 1000, { timeStyle: 'medium', dateStyle: 'short' });
            liveSince = Math.max(liveSince, ch.t[n - 1] + 1);
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
        fill(body, h('div', { class: 'notice' }, h('p', { text: t('monitor.no_group') }),
          isAdmin() ? h('a', { href: '#/admin/groups', text: t('nav.admin_groups') }) : null));
        fill(status);
        drawLive();
        return;
      }
      const r = await api.get(`/groups/${gid}/monitor`);
      if (stopped || gid !== session.groupId) return;
      if (r.status !== 200) {
        fill(body, h('p', { class: 'form-error', role: 'alert', text: errorMessage(r.body, r.status) }));
      } else {
        cells.clear();
        const apps = r.body.apps || [];
        const computed = r.body.computed || [];
        fill(body, apps.length ? apps.map((a) => appPanel(a, cells, load))
          : h('div', { class: 'notice' }, h('p', { text: t('monitor.no_apps') }),
            isAdmin() ? h('a', { href: '#/admin/apps', text: t('nav.admin_apps') }) : null),
        computed.length ? h('section', { class: 'panel' }, h('h2', { text: t('monitor.computed') }),
          h('div', { class: 'channels' }, computed.map((c) => channelCard(c, cells)))) : null);
        fill(status, t('monitor.updated', { time: formatDateTime(Date.now(), { timeStyle: 'medium' }) }),
          h('span', { text: '·' }), h('span', { text: t('monitor.every_minute') }));
      }
      // Is high-speed mode on already (started by someone else)?
      if (!liveUntil) {
        const lv = await api.get(`/groups/${gid}/live?since=${Date.now() * 1000}`);
        if (lv.status === 200 && lv.body.until) { liveUntil = lv.body.until / 1000; liveSince = Date.now() * 1000 - 60e6; runLive(); }
        else drawLive();
      }
      timer = setTimeout(load, REFRESH_MS);
    }

    const head = () => fill(container, pageHead(groupName() ? t('monitor.title', { group: groupName() }) : t('nav.monitor'),
      liveBox, h('button', { type: 'button', class: 'small', 'aria-label': t('common.refresh'), onclick: load }, icon('refresh'), t('common.refresh'))),
    status, body);
    head();
    const off = on('group', () => {
      liveUntil = null;
      clearTimeout(liveTimer);
      clearInterval(tickTimer);
      head();
      load();
    });
    await load();
    return () => {
      stopped = true;
      off();
      clearTimeout(timer);
      clearTimeout(liveTimer);
      clearInterval(tickTimer);
    };
  },
});
