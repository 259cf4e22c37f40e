// Measurement groups (G1): create, list, rename, access lists (per user and
// per team: view or edit), delete (P6). The header's group selector follows.
import { registerPage } from '../../router.mjs';
import { t, formatDateTime } from '../../i18n.mjs';
import { api } from '../../api.mjs';
import { emit } from '../../session.mjs';

import { crudPage } from '../../ui/crud.mjs';
import { formDialog } from '../../ui/form.mjs';
import { toast } from '../../ui/toast.mjs';

const ACCESS = ['none', 'view', 'edit'];

registerPage('admin/groups', {
  title: 'nav.admin_groups',
  admin: true,
  render(container) {
    let users = [];
    let teams = [];
    const accessOpts = ACCESS.map((a) => ({ value: a, label: t(`access.${a}`) }));
    return crudPage(container, {
      title: t('nav.admin_groups'),
      intro: t('groups.intro'),
      load: async () => {
        const [u, tm] = await Promise.all([api.get('/users'), api.get('/teams')]);
        users = u.status === 200 ? u.body.users : [];
        teams = tm.status === 200 ? tm.body.teams : [];
        return api.get('/groups');
      },
      items: (b) => b.groups || [],
      columns: [
        { label: t('common.name'), value: (g) => g.name },
        { label: t('common.created_at'), value: (g) => formatDateTime(g.created_at) },
      ],
      create: {
        label: t('groups.new'),
        fields: () => [{ name: 'name', label: t('common.name'), required: true, maxlength: 100 }],
        submit: (v) => api.post('/groups', v),
        done: () => { toast(t('common.created'), 'ok'); emit('groups'); },
      },
      edit: {
        fields: () => [{ name: 'name', label: t('common.name'), required: true, maxlength: 100 }],
        values: (g) => g,
        submit: async (g, v) => { const r = await api.patch(`/groups/${g.id}`, v); if (r.status === 200) emit('groups'); return r; },
      },
      actions: [{
        label: t('groups.access'),
        run: async (g, reload) => {
          const full = await api.get(`/groups/${g.id}`);
          const acc = (full.body && full.body.access) || { users: [], teams: [] };
          const values = {};
          const fields = [];
          for (const u of users) {
            const a = acc.users.find((x) => x.user_id === u.id);
            values[`u${u.id}`] = a ? a.access : 'none';
            fields.push({ name: `u${u.id}`, label: t('common.labelled', { label: t('groups.user'), value: `${u.name} (${u.login_id})` }), type: 'select', options: accessOpts,
              help: u.role === 'admin' ? t('groups.admin_sees_all') : null });
          }
          for (const tm of teams) {
            const a = acc.teams.find((x) => x.team_id === tm.id);
            values[`t${tm.id}`] = a ? a.access : 'none';
            fields.push({ name: `t${tm.id}`, label: t('common.labelled', { label: t('groups.team'), value: tm.name }), type: 'select', options: accessOpts });
          }
          const r = await formDialog({
            title: t('groups.access_title', { name: g.name }), fields, values, wide: true,
            submit: (v) => api.put(`/groups/${g.id}/access`, {
              users: users.filter((u) => v[`u${u.id}`] !== 'none').map((u) => ({ user_id: u.id, access: v[`u${u.id}`] })),
              teams: teams.filter((x) => v[`t${x.id}`] !== 'none').map((x) => ({ team_id: x.id, access: v[`t${x.id}`] })),
            }),
          });
          if (r) { toast(t('common.saved'), 'ok'); reload(); }
        },
      }],
      remove: {
        confirm: (g) => t('groups.delete_confirm', { name: g.name }),
        submit: async (g) => { const r = await api.del(`/groups/${g.id}`); if (r.status === 200) emit('groups'); return r; },
      },
    }).ready;
  },
});
