// Teams (G3): create, list, rename, describe, members, delete (P5). The
// description (up to 1,000 characters, optional) shows under the team's
// name and is edited with it.
import { registerPage } from '../../router.mjs';
import { t, formatNumber } from '../../i18n.mjs';
import { api } from '../../api.mjs';
import { h } from '../../ui/dom.mjs';
import { crudPage } from '../../ui/crud.mjs';

registerPage('admin/teams', {
  title: 'nav.admin_teams',
  admin: true,
  async render(container) {
    let users = [];
    const userOptions = () => users.map((u) => ({ value: u.id, label: `${u.name} (${u.login_id})` }));
    const fields = () => [
      { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
      { name: 'description', label: t('teams.description'), type: 'textarea', rows: 3, maxlength: 1000,
        help: t('teams.description_help') },
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
      // What a team is for and how to make one, not only "Nothing here yet."
      empty: t('teams.none'),
      columns: [
        { label: t('common.name'), class: 'prose', value: (r) => (r.description
          ? h('div', { class: 'cell-stack' }, h('span', { text: r.name }),
            h('span', { class: 'muted small-text', 'data-testid': 'team-description', text: r.description }))
          : r.name) },
        { label: t('teams.members'), class: 'prose', value: (r) => {
          const names = (r.member_ids || []).map((id) => (users.find((u) => u.id === id) || {}).name).filter(Boolean);
          return names.length ? names.join(', ') : t('common.none');
        } },
        { label: t('teams.count'), class: 'num', value: (r) => formatNumber((r.member_ids || []).length) },
      ],
      create: { label: t('teams.new'), fields, submit: (v) => api.post('/teams', v) },
      edit: { fields, values: (r) => ({ ...r, description: r.description || '' }), submit: (r, v) => api.patch(`/teams/${r.id}`, v) },
      remove: { confirm: (r) => t('teams.delete_confirm', { name: r.name }), submit: (r) => api.del(`/teams/${r.id}`) },
    }).ready;
  },
});
