// Teams (G3): create, list, rename, members, delete (P5).
import { registerPage } from '../../router.mjs';
import { t, formatNumber } from '../../i18n.mjs';
import { api } from '../../api.mjs';
import { crudPage } from '../../ui/crud.mjs';

registerPage('admin/teams', {
  title: 'nav.admin_teams',
  admin: true,
  async render(container) {
    let users = [];
    const userOptions = () => users.map((u) => ({ value: u.id, label: `${u.name} (${u.login_id})` }));
    const fields = () => [
      { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
      { name: 'member_ids', label: t('teams.members'), type: 'checks', numeric: true, options: userOptions() },
    ];
    return crudPage(container, {
      title: t('nav.admin_teams'),
      load: async () => {
        const u = await api.get('/users');
        users = u.status === 200 ? u.body.users : [];
        return api.get('/teams');
      },
      items: (b) => b.teams || [],
      columns: [
        { label: t('common.name'), value: (r) => r.name },
        { label: t('teams.members'), class: 'prose', value: (r) => {
          const names = (r.member_ids || []).map((id) => (users.find((u) => u.id === id) || {}).name).filter(Boolean);
          return names.length ? names.join(', ') : t('common.none');
        } },
        { label: t('teams.count'), class: 'num', value: (r) => formatNumber((r.member_ids || []).length) },
      ],
      create: { label: t('teams.new'), fields, submit: (v) => api.post('/teams', v) },
      edit: { fields, values: (r) => r, submit: (r, v) => api.patch(`/teams/${r.id}`, v) },
      remove: { confirm: (r) => t('teams.delete_confirm', { name: r.name }), submit: (r) => api.del(`/teams/${r.id}`) },
    }).ready;
  },
});
