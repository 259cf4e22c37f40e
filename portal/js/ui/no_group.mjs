// What a page that shows one measurement group's things says when no group
// is chosen: "choose one at the top" only when there is one to choose; in an
// account without any group (a new account), that there is none yet and how
// one comes: an administrator creates it under Measurement groups (the link),
// a member asks one.
import { h } from './dom.mjs';
import { t } from '../i18n.mjs';
import { session, isAdmin } from '../session.mjs';

/**
 * A notice for a page without a chosen group; "choose" is the page's own
 * sentence asking to choose one (e.g. t('monitor.no_group')).
 */
export function noGroupNotice(choose) {
  if (session.groups && session.groups.length) {
    return h('div', { class: 'notice', 'data-testid': 'no-group' }, h('p', { text: choose }));
  }
  const admin = isAdmin();
  return h('div', { class: 'notice', 'data-testid': 'no-groups' },
    h('p', { text: t(admin ? 'groups.none_admin' : 'groups.none_member') }),
    admin ? h('a', { href: '#/admin/groups', text: t('nav.admin_groups') }) : null);
}
