// The audit log (A9; administrators): every administrative change and
// sign-in event of the account, newest first, filtered by who (a user, the
// gateway apps or one of them, the system), by kind of action and by time
// (GET /audit?user_id|actor_kind|app_id&action&from&to, paged with
// next_before). Actions are sentences of the catalogue (audit.<action>),
// never their internal names.
import { registerPage, navigate, track } from '../../router.mjs';
import { t, has, formatDateTime, toInputValue, fromInputValue, shownZone, zoneLabel } from '../../i18n.mjs';
import { api, errorMessage } from '../../api.mjs';
import { h, fill } from '../../ui/dom.mjs';
import { dateField } from '../../ui/datefield.mjs';
import { pageHead } from '../../ui/crud.mjs';
import { table } from '../../ui/table.mjs';

const PAGE = 50;
/** The kinds of action the filter offers: the prefix of their names. */
const AREAS = ['auth', 'account', 'user', 'team', 'group', 'app', 'device', 'channel', 'computed', 'alarm', 'report', 'destination', 'recipient',
  'inquiry', 'logo', 'dashboard', 'app_share', 'console'];

/** A sentence for an audit action, never its internal name. */
export function actionText(action) {
  if (has(`audit.${action}`)) return t(`audit.${action}`);
  const area = String(action || '').split('.')[0];
  return has(`audit.area.${area}`) ? t('audit.other_in', { area: t(`audit.area.${area}`) }) : t('audit.other');
}

/** The entry's item by its name, never its database number: its name now
 * (target_name, read by the server for the page), else the name the entry
 * kept (a file, a list, a dashboard: detail.name); an item deleted since is
 * said to be, a nameless one (a session) is its kind. */
function targetText(e, users) {
  if (!e.target_type) return null;
  if (e.target_type === 'user' && users.has(e.target_id)) return users.get(e.target_id);
  const kind = has(`audit.target.${e.target_type}`) ? t(`audit.target.${e.target_type}`) : t('audit.target.other');
  if (typeof e.target_name === 'string' && e.target_name.trim()) return t('audit.target_named', { kind, name: e.target_name.trim() });
  const kept = e.detail && typeof e.detail.name === 'string' ? e.detail.name.trim() : '';
  if (kept) return t(e.target_gone ? 'audit.target_named_gone' : 'audit.target_named', { kind, name: kept });
  return e.target_gone ? t('audit.target_gone', { kind }) : kind;
}

function who(e, users) {
  // A gateway app's own change (its device reports, what it shares): the app by its name then.
  if (e.actor_kind === 'app') return e.app_name ? t('audit.via_app', { app: e.app_name }) : t('audit.via_app_unnamed');
  if (e.actor_kind === 'system') return t('audit.system');
  const name = (e.user_id && users.get(e.user_id)) || e.actor_login || t('audit.deleted_user');
  return e.actor_kind === 'api_token' ? t('audit.via_token', { user: name }) : name;
}

registerPage('admin/audit', {
  title: 'nav.admin_audit',
  admin: true,
  async render(container, params) {
    const f = {
      user: /^\d+$/.test(params.user || '') ? params.user : '',
      actor: ['app', 'system'].includes(params.actor) ? params.actor : '',
      app: /^\d+$/.test(params.app || '') ? params.app : '',
      area: AREAS.includes(params.area) ? params.area : '',
      from: Number(params.from) > 0 ? Number(params.from) : null,
      to: Number(params.to) > 0 ? Number(params.to) : null,
    };
    const [ur, ar] = await Promise.all([api.get('/users'), api.get('/apps')]);
    const userList = ur.status === 200 ? ur.body.users || [] : [];
    const appList = ar.status === 200 ? ar.body.items || [] : [];
    const users = new Map(userList.map((u) => [u.id, `${u.name} (${u.login_id})`]));

    // Who: a person (u<id>), every gateway app (app), one app (a<id>) or the system.
    const chosen = f.user ? `u${f.user}` : f.app ? `a${f.app}` : f.actor;
    const opt = (value, text) => h('option', { value, text, selected: value === chosen });
    const userSel = h('select', { id: 'audit-user', 'data-testid': 'audit-user' },
      opt('', t('audit.all_users')),
      h('optgroup', { label: t('audit.people') }, userList.map((u) => opt(`u${u.id}`, users.get(u.id)))),
      h('optgroup', { label: t('audit.apps') }, opt('app', t('audit.all_apps')),
        appList.map((a) => opt(`a${a.id}`, t('audit.via_app', { app: a.name })))),
      opt('system', t('audit.system')));
    const areaSel = h('select', { id: 'audit-area', 'data-testid': 'audit-area' },
      h('option', { value: '', text: t('audit.all_actions') }),
      AREAS.map((a) => h('option', { value: a, text: t(`audit.area.${a}`), selected: a === f.area })));
    const fromIn = dateField({ kind: 'datetime', id: 'audit-from', testid: 'audit-from', label: t('audit.from'), value: f.from ? toInputValue(f.from) : '' });
    const toIn = dateField({ kind: 'datetime', id: 'audit-to', testid: 'audit-to', label: t('audit.to'), value: f.to ? toInputValue(f.to) : '' });
    const apply = h('button', { type: 'button', class: 'primary small', 'data-testid': 'audit-apply', text: t('audit.apply'),
      onclick: () => {
        if (!fromIn.check() || !toIn.check()) return;
        const from = fromInputValue(fromIn.value), to = fromInputValue(toIn.value);
        const w = userSel.value;
        navigate('admin/audit', { user: w.startsWith('u') ? w.slice(1) : undefined,
          app: w.startsWith('a') && w !== 'app' ? w.slice(1) : undefined,
          actor: w === 'app' || w === 'system' ? w : undefined, area: areaSel.value || undefined,
          from: Number.isFinite(from) ? from : undefined, to: Number.isFinite(to) ? to : undefined });
      } });
    const field = (id, label, input) => h('div', { class: 'field' }, h('label', { for: id, text: label }), input);
    const list = h('div', { 'data-testid': 'audit-list' });
    const more = h('button', { type: 'button', class: 'small', hidden: true, 'data-testid': 'audit-more', text: t('audit.older') });
    fill(container, pageHead(t('nav.admin_audit')),
      h('p', { class: 'intro', text: t('audit.intro') }),
      h('section', { class: 'panel filters' },
        h('div', { class: 'filter-row' },
          field('audit-user', t('audit.user'), userSel), field('audit-area', t('audit.action'), areaSel),
          field('audit-from', t('audit.from'), fromIn), field('audit-to', t('audit.to'), toIn),
          h('div', { class: 'filter-apply' }, apply)),
        h('p', { class: 'help', text: t('viewer.zone', { zone: zoneLabel(shownZone()) }) })),
      list, h('div', { class: 'form-buttons' }, more));

    const rows = [];
    const q = (before) => {
      const sp = new URLSearchParams({ limit: String(PAGE) });
      if (before) sp.set('before', String(before));
      if (f.user) sp.set('user_id', f.user);
      else if (f.app) sp.set('app_id', f.app);
      else if (f.actor) sp.set('actor_kind', f.actor);
      if (f.area) sp.set('action', `${f.area}.`);
      if (f.from) sp.set('from', String(f.from * 1000));
      if (f.to) sp.set('to', String(f.to * 1000));
      return `/audit?${sp}`;
    };
    async function load(before) {
      more.disabled = true;
      const r = await api.get(q(before));
      more.disabled = false;
      if (r.status !== 200) { fill(list, h('p', { class: 'form-error', role: 'alert', text: errorMessage(r.body, r.status) })); return; }
      rows.push(...(r.body.entries || []));
      fill(list, table([
        { label: t('audit.time'), value: (e) => formatDateTime(e.at, { seconds: true }) },
        { label: t('audit.user'), value: (e) => who(e, users) },
        { label: t('audit.action'), class: 'prose', value: (e) => h('span', { 'data-action': e.action, text: actionText(e.action) }) },
        { label: t('audit.target'), class: 'prose', value: (e) => targetText(e, users) },
        { label: t('audit.address'), value: (e) => e.ip },
      ], rows, { empty: t('audit.none') }));
      more.hidden = !r.body.next_before;
      more.onclick = () => load(r.body.next_before);
    }
    await load(null);
  },
});
