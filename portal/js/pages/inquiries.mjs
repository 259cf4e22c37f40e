// Inquiries (G5) for every user: send one, see one's own. Administrators see
// the whole account's on admin/inquiries (the same list).
import { registerPage } from '../router.mjs';
import { t, formatDateTime } from '../i18n.mjs';
import { api } from '../api.mjs';
import { isAdmin } from '../session.mjs';
import { h } from '../ui/dom.mjs';
import { crudPage } from '../ui/crud.mjs';
import { showDialog } from '../ui/dialog.mjs';

const KINDS = ['inquiry', 'fault_report', 'investigation_request', 'account_deletion'];

export function inquiriesPage(container, title) {
  return crudPage(container, {
    title,
    intro: t('inq.intro'),
    load: () => api.get('/inquiries?limit=100'),
    items: (b) => b.items || [],
    empty: t('inq.none'),
    columns: [
      { label: t('inq.subject'), value: (r) => r.subject },
      { label: t('inq.kind'), value: (r) => t(`inq.kind_${r.kind}`) },
      { label: t('inq.status'), value: (r) => h('span', { class: `pill ${r.status === 'open' ? 'accent' : ''}`, text: t(`inq.status_${r.status}`) }) },
      { label: t('common.created_at'), value: (r) => formatDateTime(r.created_at) },
    ],
    actions: [{
      label: t('inq.read'),
      run: (r) => showDialog({ title: r.subject, body: [
        h('p', { class: 'muted', text: `${t(`inq.kind_${r.kind}`)} · ${formatDateTime(r.created_at)}` }),
        h('p', { class: 'pre', text: r.body }),
        h('p', { class: 'muted', text: r.allow_remote_access ? t('inq.remote_yes') : t('inq.remote_no') })] }),
    }],
    create: {
      label: t('inq.new'),
      submitLabel: t('inq.send'),
      fields: () => [
        { name: 'kind', label: t('inq.kind'), type: 'select',
          options: KINDS.filter((k) => k !== 'account_deletion' || isAdmin()).map((k) => ({ value: k, label: t(`inq.kind_${k}`) })) },
        { name: 'subject', label: t('inq.subject'), required: true, maxlength: 200 },
        { name: 'body', label: t('inq.body'), type: 'textarea', required: true, maxlength: 10000, rows: 6 },
        { name: 'allow_remote_access', label: t('inq.remote'), type: 'checkbox' },
      ],
      submit: (v) => api.post('/inquiries', v),
    },
  });
}

registerPage('inquiries', {
  title: 'nav.inquiries',
  render(container) { return inquiriesPage(container, t('nav.inquiries')).ready; },
});
