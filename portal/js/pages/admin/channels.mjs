// Channels (administrators; M4, P10/P11): the channels of a device — add
// (key, name, unit, decimals), rename, change the unit and the decimals its
// values are shown with, delete — and which of them are acquired (stored),
// within the plan's selection limit.
//
// Route: #/admin/channels?device=<id>
import { registerPage, navigate, track } from '../../router.mjs';
import { t, formatNumber } from '../../i18n.mjs';
import { api, errorMessage, quotaName, planName } from '../../api.mjs';
import { plan } from '../../session.mjs';
import { h, fill } from '../../ui/dom.mjs';
import { pageHead, reportReply } from '../../ui/crud.mjs';
import { formDialog } from '../../ui/form.mjs';
import { confirmDialog } from '../../ui/dialog.mjs';
import { toast } from '../../ui/toast.mjs';

const KEY_PATTERN = '[A-Za-z0-9_.\\-]{1,32}';
const decimalsOpts = () => [{ value: '', label: t('channels.decimals_auto') },
  ...Array.from({ length: 10 }, (_, d) => ({ value: d, label: t('channels.decimals_n', { n: d, example: formatNumber(1234.5678, { minimumFractionDigits: d, maximumFractionDigits: d }) }) }))];
const decimalsOf = (v) => (v === '' || v === null || v === undefined ? null : Number(v));

function deviceLabel(d, apps) {
  const app = apps.get(d.app_id);
  const name = d.name || `${d.model} ${d.serial}`;
  return app ? t('channels.device_of', { device: name, app: app.name }) : name;
}

registerPage('admin/channels', {
  title: 'nav.admin_channels',
  admin: true,
  async render(container, params) {
    const [dr, ar] = await Promise.all([api.get('/devices'), api.get('/apps')]);
    if (dr.status !== 200) { fill(container, h('p', { class: 'form-error', text: errorMessage(dr.body, dr.status) })); return; }
    const devices = dr.body.items || [];
    const apps = new Map((ar.status === 200 ? ar.body.items : []).map((a) => [a.id, a]));
    const head = pageHead(t('nav.admin_channels'));
    if (!devices.length) {
      fill(container, head, h('div', { class: 'notice' }, h('p', { text: t('channels.no_devices') }),
        h('a', { href: '#/admin/devices', text: t('nav.admin_devices') })));
      return;
    }
    const id = devices.some((d) => String(d.id) === params.device) ? Number(params.device) : devices[0].id;
    const device = devices.find((d) => d.id === id);
    const pick = h('select', { id: 'channels-device', 'data-testid': 'channels-device',
      onchange: () => navigate('admin/channels', { device: pick.value }) },
    devices.map((d) => h('option', { value: String(d.id), text: deviceLabel(d, apps), selected: d.id === id })));
    const box = h('section', { class: 'panel', 'data-testid': 'channels-panel' });
    fill(container, head, h('p', { class: 'intro', text: t('channels.intro') }),
      h('div', { class: 'field field-inline' }, h('label', { for: 'channels-device', text: t('channels.device') }), pick), box);

    // Tracked: the page's rendered mark waits for the list (router.mjs).
    function load() { return track(loadList); }
    async function loadList() {
      const r = await api.get(`/devices/${id}/channels`);
      if (r.status !== 200) { fill(box, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
      const { items, selection_limit: lim } = r.body;
      const limit = lim ? lim.limit : null;
      const checks = new Map();
      const count = h('strong', { 'data-testid': 'channels-count' });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'channels-error' });
      const save = h('button', { type: 'button', class: 'primary', 'data-testid': 'channels-save-selection', disabled: true,
        text: t('channels.save_selection') });
      const update = () => {
        const n = [...checks.values()].filter((c) => c.checked).length;
        count.textContent = limit === null || limit === undefined
          ? t('monitor.selection_count_nolimit', { n: formatNumber(n) })
          : t('monitor.selection_count', { n: formatNumber(n), limit: formatNumber(limit) });
        count.classList.toggle('over', limit !== null && limit !== undefined && n > limit);
        save.disabled = items.every((c) => c.selected === checks.get(c.id).checked);
      };
      const edit = (c) => formDialog({
        title: t('channels.edit_title', { key: c.key }),
        fields: [
          { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
          { name: 'unit', label: t('channels.unit'), maxlength: 16, help: t('channels.unit_help') },
          { name: 'decimals', label: t('channels.decimals'), type: 'select', options: decimalsOpts(), help: t('channels.decimals_help') },
        ],
        values: { name: c.name, unit: c.unit, decimals: c.decimals ?? '' },
        submit: (v) => api.patch(`/channels/${c.id}`, { name: v.name, unit: v.unit, decimals: decimalsOf(v.decimals) }),
      }).then((res) => { if (res) { toast(t('common.saved'), 'ok'); load(); } });
      const remove = async (c) => {
        if (!(await confirmDialog(t('channels.delete_confirm', { name: c.name, key: c.key }), { confirm: t('common.delete') }))) return;
        if (reportReply(await api.del(`/channels/${c.id}`), t('common.deleted'))) load();
      };
      const rows = items.map((c) => {
        const cb = h('input', { type: 'checkbox', checked: c.selected, 'aria-label': t('channels.acquire', { name: c.name }),
          'data-testid': `acquire-${c.key}`, onchange: update });
        checks.set(c.id, cb);
        return h('tr', { 'data-channel': String(c.id), 'data-key': c.key },
          h('td', { class: 'check-cell', 'data-label': t('channels.acquired') }, cb),
          h('td', { 'data-label': t('channels.key') }, h('code', { text: c.key })),
          h('td', { 'data-label': t('common.name'), text: c.name }),
          h('td', { 'data-label': t('channels.unit'), text: c.unit || '—' }),
          h('td', { class: 'num', 'data-label': t('channels.decimals'), 'data-testid': 'channel-decimals',
            text: c.decimals === null || c.decimals === undefined ? t('channels.decimals_auto') : formatNumber(c.decimals) }),
          h('td', { class: 'actions' }, h('div', { class: 'row-actions' },
            h('button', { type: 'button', class: 'small', 'data-testid': 'channel-edit', text: t('common.edit'), onclick: () => edit(c) }),
            h('button', { type: 'button', class: 'small danger', 'data-testid': 'channel-delete', text: t('common.delete'), onclick: () => remove(c) }))));
      });
      save.addEventListener('click', async () => {
        err.hidden = true;
        const ids = items.filter((c) => checks.get(c.id).checked).map((c) => c.id);
        const res = await api.put(`/devices/${id}/selection`, { channel_ids: ids });
        if (res.status === 200) { toast(t('common.saved'), 'ok'); load(); return; }
        err.textContent = errorMessage(res.body, res.status);
        err.hidden = false;
      });
      const add = h('button', { type: 'button', class: 'primary', 'data-testid': 'channel-add', text: t('channels.add'),
        onclick: async () => {
          const res = await formDialog({
            title: t('channels.add'), submitLabel: t('common.create'),
            fields: [
              { name: 'key', label: t('channels.key'), required: true, maxlength: 32, pattern: KEY_PATTERN, help: t('channels.key_help') },
              { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
              { name: 'unit', label: t('channels.unit'), maxlength: 16, help: t('channels.unit_help') },
              { name: 'decimals', label: t('channels.decimals'), type: 'select', options: decimalsOpts(), help: t('channels.decimals_help') },
            ],
            submit: (v) => api.post(`/devices/${id}/channels`, { ...v, decimals: decimalsOf(v.decimals) }),
          });
          if (res) { toast(t('channels.added', { name: res.body.name }), 'ok'); load(); }
        } });
      fill(box, h('div', { class: 'panel-head' }, h('h2', { text: deviceLabel(device, apps) }), add),
        h('p', { class: 'muted', text: t('monitor.selection_help', {
          quota: quotaName(lim ? lim.quota : 'P10'), plan: planName(plan()),
          limit: limit === null || limit === undefined ? '—' : formatNumber(limit) }) }),
        h('p', {}, count), err,
        items.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'channels-table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('channels.acquired') }), h('th', { scope: 'col', text: t('channels.key') }),
            h('th', { scope: 'col', text: t('common.name') }), h('th', { scope: 'col', text: t('channels.unit') }),
            h('th', { scope: 'col', class: 'num', text: t('channels.decimals') }),
            h('th', { scope: 'col', class: 'actions', text: t('common.actions') }))),
          h('tbody', {}, rows))) : h('p', { class: 'empty', text: t('monitor.no_channels') }),
        h('div', { class: 'form-buttons' }, save));
      update();
    }
    await load();
  },
});
