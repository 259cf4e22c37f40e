// Apps (G6, P3): register (the ingestion credential is shown once), list,
// rename / move to a group, enable/disable, regenerate the credential, delete.
import { registerPage } from '../../router.mjs';
import { t, formatDateTime, formatDate, formatNumber } from '../../i18n.mjs';
import { api } from '../../api.mjs';
import { h } from '../../ui/dom.mjs';
import { crudPage, reportReply } from '../../ui/crud.mjs';
import { confirmDialog, showDialog } from '../../ui/dialog.mjs';

const KINDS = ['one', 'cross', 'lr8450-direct'];

/**
 * Show a new credential once (on registration and on renewal), with a copy
 * button and what to do with it.
 */
export function showCredential(app) {
  const copied = h('span', { class: 'muted small-text', role: 'status' });
  return showDialog({
    title: t('apps.credential_title', { name: app.name }),
    body: [
      h('p', { class: 'notice warn', text: t('apps.credential_once') }),
      h('p', { class: 'secret', 'data-testid': 'app-credential', text: app.credential }),
      h('div', { class: 'page-tools' },
        h('button', { type: 'button', class: 'small', 'data-testid': 'app-credential-copy', text: t('common.copy'), onclick: async () => {
          try {
            await navigator.clipboard.writeText(app.credential);
            copied.textContent = t('common.copied');
          } catch {
            copied.textContent = t('apps.copy_by_hand');
          }
        } }), copied),
      h('p', { class: 'help', text: t('apps.credential_use') }),
    ],
    buttons: [{ label: t('apps.credential_stored'), value: true, primary: true }],
  });
}

registerPage('admin/apps', {
  title: 'nav.admin_apps',
  admin: true,
  render(container) {
    let groups = [];
    const groupOpts = () => [{ value: '', label: t('common.none') }, ...groups.map((g) => ({ value: g.id, label: g.name }))];
    const groupName = (id) => (groups.find((g) => g.id === id) || {}).name;
    return crudPage(container, {
      title: t('nav.admin_apps'),
      intro: t('apps.intro'),
      load: async () => {
        const g = await api.get('/groups');
        groups = g.status === 200 ? g.body.groups : [];
        return api.get('/apps');
      },
      items: (b) => b.items || [],
      columns: [
        // Its kind under its name: one column fewer, so that the actions stay in view
        // at 1366 px in every language (in Spanish the last two were cut).
        { label: t('common.name'), value: (a) => h('div', { class: 'cell-stack' }, h('strong', { text: a.name }),
          h('span', { class: 'muted small-text', 'aria-label': t('common.labelled', { label: t('apps.kind'), value: t(`app_kind.${a.kind}`) }), text: t(`app_kind.${a.kind}`) })) },
        { label: t('header.group'), value: (a) => groupName(a.group_id) },
        // When it was last heard from under its state (one column fewer again).
        { label: t('users.state'), value: (a) => h('div', { class: 'cell-stack' },
          h('span', {}, h('span', { class: `pill ${a.enabled ? 'ok' : 'bad'}`, text: t(a.enabled ? 'common.enabled' : 'common.disabled') })),
          h('span', { class: 'muted small-text', 'data-testid': 'app-last-seen',
            text: t('common.labelled', { label: t('apps.last_seen'), value: a.last_seen_at ? formatDateTime(a.last_seen_at) : t('common.never') }) })) },
        // The credential's first characters (not secret), to tell which one an app uses; an
        // app registered without one (the demo's) says so.
        { label: t('apps.credential'), value: (a) => (a.credential_prefix
          ? h('div', { class: 'cell-stack' }, h('code', { 'data-testid': 'app-credential-prefix', text: `${a.credential_prefix}…` }),
            a.credential_set_at ? h('span', { class: 'muted small-text', text: t('apps.credential_since', { when: formatDate(a.credential_set_at) }) }) : null)
          : h('span', { class: 'pill warn', 'data-testid': 'app-credential-prefix', text: t('apps.no_credential') })) },
        { label: t('apps.devices'), class: 'num', value: (a) => formatNumber(a.device_count || 0) },
      ],
      create: {
        label: t('apps.new'),
        fields: () => [
          { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
          { name: 'kind', label: t('apps.kind'), type: 'select', options: KINDS.map((k) => ({ value: k, label: t(`app_kind.${k}`) })) },
          { name: 'group_id', label: t('header.group'), type: 'select', options: groupOpts() },
        ],
        submit: (v) => api.post('/apps', { ...v, group_id: v.group_id ? Number(v.group_id) : null }),
        done: (r) => showCredential(r.body),
      },
      edit: {
        fields: () => [
          { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
          { name: 'group_id', label: t('header.group'), type: 'select', options: groupOpts() },
        ],
        values: (a) => ({ ...a, group_id: a.group_id ?? '' }),
        submit: (a, v) => api.patch(`/apps/${a.id}`, { name: v.name, group_id: v.group_id ? Number(v.group_id) : null }),
      },
      actions: [
        {
          label: (a) => t(a.enabled ? 'apps.disable' : 'apps.enable'),
          run: async (a, reload) => {
            if (reportReply(await api.patch(`/apps/${a.id}`, { enabled: !a.enabled }), t('common.saved'))) reload();
          },
        },
        {
          label: (a) => t(a.credential_prefix ? 'apps.regenerate' : 'apps.issue'),
          run: async (a, reload) => {
            if (a.credential_prefix &&
              !(await confirmDialog(t('apps.regenerate_confirm', { name: a.name }), { confirm: t('apps.regenerate') }))) return;
            const r = await api.post(`/apps/${a.id}/credentials`, {});
            if (reportReply(r)) { await showCredential(r.body); reload(); }
          },
        },
      ],
      remove: { confirm: (a) => t('apps.delete_confirm', { name: a.name }), submit: (a) => api.del(`/apps/${a.id}`) },
    }).ready;
  },
});
