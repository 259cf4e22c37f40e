// Destinations of alarm notifications (R8; docs/notify.md): e-mail, Slack,
// Microsoft Teams and WeChat Work incoming webhooks — add, change, disable,
// remove, send a test message and follow it, and the delivery log of each.
// Webhook URLs come back masked (their secret is never shown again); the
// masked address sent back unchanged keeps the stored one.
import { registerPage } from '../../router.mjs';
import { t, LANGUAGES, language, formatDateTime } from '../../i18n.mjs';
import { api } from '../../api.mjs';
import { h } from '../../ui/dom.mjs';
import { crudPage } from '../../ui/crud.mjs';
import { statePill, testSend, destinationLog } from '../../alarms/deliveries.mjs';

export const KINDS = ['email', 'slack', 'teams', 'wechat'];

registerPage('admin/destinations', {
  title: 'nav.admin_destinations',
  admin: true,
  render(container) {
    const fields = (row) => [
      { name: 'kind', label: t('dest.kind'), type: 'select', options: KINDS.map((k) => ({ value: k, label: t(`dest.kind.${k}`) })),
        onChange: (v, form) => { form.inputs.address.placeholder = t(`dest.placeholder.${v}`); } },
      { name: 'name', label: t('common.name'), maxlength: 100 },
      { name: 'address', label: t('dest.address'), required: true, maxlength: 2000, help: row ? t('dest.address_help_edit') : t('dest.address_help'),
        placeholder: t(`dest.placeholder.${row ? row.kind : 'email'}`) },
      { name: 'language', label: t('dest.language'), type: 'select', options: LANGUAGES.map((l) => ({ value: l.code, label: l.name })),
        help: t('dest.language_help') },
      { name: 'enabled', label: t('common.enabled'), type: 'checkbox' },
    ];
    const last = (d) => (d.last_delivery
      ? h('div', { class: 'cell-stack' }, statePill(d.last_delivery.state),
        h('span', { class: 'muted small-text', text: formatDateTime(d.last_delivery.at) }))
      : h('span', { class: 'muted', text: t('dest.never') }));
    return crudPage(container, {
      title: t('nav.admin_destinations'),
      intro: t('dest.intro'),
      load: () => api.get('/destinations'),
      items: (b) => b.items || [],
      empty: t('dest.none'),
      columns: [
        { label: t('common.name'), value: (d) => h('div', { class: 'cell-stack' }, h('strong', { text: d.name || '—' }),
          h('span', { class: 'muted small-text', text: t(`dest.kind.${d.kind}`) })) },
        { label: t('dest.address'), value: (d) => h('span', { class: 'dest-address', text: d.address }) },
        { label: t('dest.language'), value: (d) => (LANGUAGES.find((l) => l.code === d.language) || {}).name },
        { label: t('users.state'), value: (d) => h('span', { class: `pill ${d.enabled ? 'ok' : ''}`, text: t(d.enabled ? 'common.enabled' : 'common.disabled') }) },
        { label: t('dest.last'), value: last },
      ],
      create: { label: t('dest.new'), fields: () => fields(null), values: () => ({ kind: 'email', enabled: true, language: language() }),
        submit: (v) => api.post('/destinations', v) },
      edit: { fields: (d) => fields(d), values: (d) => d, submit: (d, v) => api.patch(`/destinations/${d.id}`, v) },
      actions: [
        { label: t('dest.test'), show: (d) => d.enabled, run: async (d, reload) => { await testSend(d); await reload(); } },
        { label: t('dest.log'), run: async (d) => { await destinationLog(d); } },
      ],
      remove: { confirm: (d) => t('dest.delete_confirm', { name: d.name || d.address }), submit: (d) => api.del(`/destinations/${d.id}`) },
    }).ready;
  },
});
