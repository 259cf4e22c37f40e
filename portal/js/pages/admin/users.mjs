// Users (G2): create, list, edit (role, file access, per-user two-step,
// password, disabled), sign out everywhere, delete. P4 refusals are shown in
// the form as a sentence naming the limit and the plan.
import { registerPage } from '../../router.mjs';
import { t, formatDateTime } from '../../i18n.mjs';
import { api } from '../../api.mjs';
import { session } from '../../session.mjs';
import { h } from '../../ui/dom.mjs';
import { crudPage, reportReply } from '../../ui/crud.mjs';
import { confirmDialog } from '../../ui/dialog.mjs';

const opts = (prefix, values) => values.map((v) => ({ value: v, label: t(`${prefix}.${v}`) }));

registerPage('admin/users', {
  title: 'nav.admin_users',
  admin: true,
  render(container) {
    return crudPage(container, {
      title: t('nav.admin_users'),
      load: () => api.get('/users'),
      items: (b) => b.users || [],
      // Few columns, so that the actions stay in view at 1366 px: who (name,
      // login ID, e-mail), what they may do (role, drive access), two-step.
      columns: [
        { label: t('users.user'), value: (u) => h('div', { class: 'cell-stack' }, h('strong', { text: u.name }),
          h('span', { class: 'muted small-text', text: u.login_id }),
          u.email ? h('span', { class: 'muted small-text', text: u.email }) : null) },
        { label: t('users.rights'), value: (u) => h('div', { class: 'cell-stack' }, h('span', { text: t(`role.${u.role}`) }),
          h('span', { class: 'muted small-text', text: t('users.drive_access', { access: t(`file_access.${u.file_access}`) }) })) },
        { label: t('me.two_step'), value: (u) => t(`two_step.${u.two_step}`) },
        { label: t('users.state'), value: (u) => h('span', { class: `pill ${u.disabled ? 'bad' : 'ok'}`, text: t(u.disabled ? 'common.disabled' : 'common.enabled') }) },
        { label: t('users.last_login'), value: (u) => (u.last_login_at ? formatDateTime(u.last_login_at) : t('common.never')) },
      ],
      create: {
        label: t('users.new'),
        fields: () => [
          { name: 'login_id', label: t('field.login_id'), required: true, maxlength: 64, pattern: '[A-Za-z0-9][A-Za-z0-9._@\\-]{0,63}' },
          { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
          { name: 'email', label: t('field.email'), type: 'email', maxlength: 254 },
          { name: 'password', label: t('field.password'), type: 'password', required: true, help: t('password.policy') },
          { name: 'role', label: t('me.role'), type: 'select', options: opts('role', ['member', 'admin']) },
          { name: 'file_access', label: t('users.file_access'), type: 'select', options: opts('file_access', ['view', 'edit', 'none']) },
          { name: 'two_step', label: t('me.two_step'), type: 'select', options: opts('two_step', ['off', 'email']) },
        ],
        submit: (v) => api.post('/users', { ...v, email: v.email || null }),
      },
      edit: {
        title: (u) => t('common.labelled', { label: t('common.edit'), value: u.login_id }),
        fields: (u) => [
          { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
          { name: 'email', label: t('field.email'), type: 'email', maxlength: 254 },
          { name: 'role', label: t('me.role'), type: 'select', options: opts('role', ['member', 'admin']) },
          { name: 'file_access', label: t('users.file_access'), type: 'select', options: opts('file_access', ['view', 'edit', 'none']) },
          { name: 'two_step', label: t('me.two_step'), type: 'select',
            options: opts('two_step', u.totp_enrolled ? ['off', 'email', 'totp'] : ['off', 'email']),
            help: u.totp_enrolled ? null : t('users.totp_hint') },
          { name: 'password', label: t('users.new_password'), type: 'password', help: t('users.password_keep') },
          { name: 'disabled', label: t('users.disabled'), type: 'checkbox' },
        ],
        values: (u) => ({ ...u, email: u.email || '' }),
        submit: (u, v) => {
          const body = { ...v, email: v.email || null };
          if (!body.password) delete body.password;
          return api.patch(`/users/${u.id}`, body);
        },
      },
      actions: [{
        label: t('users.sign_out'),
        run: async (u, reload) => {
          if (!(await confirmDialog(t('users.sign_out_confirm', { user: u.login_id }), { confirm: t('users.sign_out') }))) return;
          if (reportReply(await api.del(`/users/${u.id}/sessions`), t('users.signed_out'))) reload();
        },
      }],
      remove: {
        show: (u) => !session.user || u.id !== session.user.id,
        confirm: (u) => t('users.delete_confirm', { user: u.login_id }),
        submit: (u) => api.del(`/users/${u.id}`),
      },
    }).ready;
  },
});
