// System notification recipients (G4): e-mail, WeChat Work, Slack, Teams.
import { registerPage } from '../../router.mjs';
import { t, LANGUAGES } from '../../i18n.mjs';
import { api } from '../../api.mjs';
import { h } from '../../ui/dom.mjs';
import { crudPage } from '../../ui/crud.mjs';
import { testSend } from '../../alarms/deliveries.mjs';

const KINDS = ['email', 'wechat', 'slack', 'teams'];

registerPage('admin/recipients', {
  title: 'nav.admin_recipients',
  admin: true,
  render(container) {
    const fields = () => [
      { name: 'kind', label: t('recipients.kind'), type: 'select', options: KINDS.map((k) => ({ value: k, label: t(`recipients.kind_${k}`) })) },
      { name: 'name', label: t('common.name'), maxlength: 100 },
      { name: 'address', label: t('field.address'), required: true, maxlength: 2000, help: t('recipients.address_help') },
      { name: 'language', label: t('header.language'), type: 'select', options: LANGUAGES.map((l) => ({ value: l.code, label: l.name })) },
      { name: 'enabled', label: t('common.enabled'), type: 'checkbox' },
    ];
    return crudPage(container, {
      title: t('nav.admin_recipients'),
      intro: t('recipients.intro'),
      load: () => api.get('/notification-recipients'),
      items: (b) => b.items || [],
      columns: [
        { label: t('common.name'), value: (r) => r.name },
        { label: t('recipients.kind'), value: (r) => t(`recipients.kind_${r.kind}`) },
        { label: t('field.address'), value: (r) => r.address },
        { label: t('header.language'), value: (r) => (LANGUAGES.find((l) => l.code === r.language) || {}).name },
        { label: t('users.state'), value: (r) => h('span', { class: `pill ${r.enabled ? 'ok' : ''}`, text: t(r.enabled ? 'common.enabled' : 'common.disabled') }) },
      ],
      create: { label: t('recipients.new'), fields, values: () => ({ enabled: true, language: 'en' }), submit: (v) => api.post('/notification-recipients', v) },
      edit: { fields, values: (r) => r, submit: (r, v) => api.patch(`/notification-recipients/${r.id}`, v) },
      actions: [{ label: t('dest.test'), show: (r) => r.enabled, run: (r) => testSend(r, '/notification-recipients') }],
      remove: { confirm: (r) => t('recipients.delete_confirm', { name: r.name || r.address }), submit: (r) => api.del(`/notification-recipients/${r.id}`) },
    }).ready;
  },
});
