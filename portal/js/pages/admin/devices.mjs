// Devices (G6, I4, P12): list (by app), add from the supported-instrument
// list, edit, delete; the acquisition-channel selection (M4, P10/P11).
import { registerPage, navigate } from '../../router.mjs';
import { t, formatNumber } from '../../i18n.mjs';
import { api } from '../../api.mjs';
import { h } from '../../ui/dom.mjs';
import { crudPage } from '../../ui/crud.mjs';

registerPage('admin/devices', {
  title: 'nav.admin_devices',
  admin: true,
  render(container) {
    let apps = [];
    let models = [];
    const appName = (id) => (apps.find((a) => a.id === id) || {}).name;
    const kindOf = (id) => (apps.find((a) => a.id === Number(id)) || {}).kind;
    const modelOpts = (kind) => models.filter((m) => !kind || m.apps.includes(kind)).map((m) => ({ value: m.model, label: m.model }));
    return crudPage(container, {
      title: t('nav.admin_devices'),
      intro: t('devices.intro'),
      load: async () => {
        const [a, m] = await Promise.all([api.get('/apps'), api.get('/instrument-models')]);
        apps = a.status === 200 ? a.body.items : [];
        models = m.status === 200 ? m.body.items : [];
        return api.get('/devices');
      },
      items: (b) => b.items || [],
      columns: [
        { label: t('devices.app'), value: (d) => appName(d.app_id) },
        { label: t('common.name'), value: (d) => d.name },
        { label: t('field.model'), value: (d) => d.model },
        { label: t('field.serial'), value: (d) => d.serial },
        { label: t('field.firmware'), value: (d) => {
          if (!d.firmware) return null;
          if (d.firmware_supported === false) return h('span', { class: 'pill warn', title: t('devices.min_firmware', { v: d.min_firmware || '' }), text: d.firmware });
          return d.firmware;
        } },
        { label: t('devices.selected'), class: 'num', value: (d) => {
          const lim = d.selection_limit && d.selection_limit.limit;
          return lim === null || lim === undefined ? formatNumber(d.selected_count)
            : `${formatNumber(d.selected_count)} / ${formatNumber(lim)}`;
        } },
      ],
      create: {
        label: t('devices.new'),
        fields: () => [
          { name: 'app_id', label: t('devices.app'), type: 'select', required: true,
            options: apps.map((a) => ({ value: a.id, label: `${a.name} (${t(`app_kind.${a.kind}`)})` })),
            // Only the models that work with the chosen app's kind (I4).
            onChange: (id, form) => form.setOptions('model', modelOpts(kindOf(id))) },
          { name: 'model', label: t('field.model'), type: 'select', options: modelOpts(apps[0] && apps[0].kind), help: t('devices.model_help') },
          { name: 'serial', label: t('field.serial'), required: true, maxlength: 64 },
          { name: 'firmware', label: t('field.firmware'), maxlength: 32, placeholder: 'V1.50' },
          { name: 'name', label: t('common.name'), maxlength: 100 },
        ],
        submit: (v) => {
          const body = { model: v.model, serial: v.serial };
          if (v.firmware) body.firmware = v.firmware;
          if (v.name) body.name = v.name;
          return api.post(`/apps/${Number(v.app_id)}/devices`, body);
        },
      },
      edit: {
        fields: (d) => [
          { name: 'name', label: t('common.name'), maxlength: 100 },
          { name: 'model', label: t('field.model'), type: 'select', options: modelOpts(d.app_kind) },
          { name: 'serial', label: t('field.serial'), required: true, maxlength: 64 },
          { name: 'firmware', label: t('field.firmware'), maxlength: 32 },
        ],
        values: (d) => d,
        submit: (d, v) => api.patch(`/devices/${d.id}`, v),
      },
      actions: [{ label: t('channels.manage'), run: (d) => navigate('admin/channels', { device: d.id }) }],
      remove: { confirm: (d) => t('devices.delete_confirm', { name: d.name || `${d.model} ${d.serial}` }), submit: (d) => api.del(`/devices/${d.id}`) },
    }).ready;
  },
});
