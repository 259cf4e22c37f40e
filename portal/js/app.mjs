// The portal shell: start-up, the header (logo, group selector, language,
// notification badge, user menu), the navigation, sign-in state and routing.
import { initI18n, t, setLanguage, language, LANGUAGES, onLanguageChange, setTimeZone, onTimeZoneChange } from './i18n.mjs';
import { api, setCsrf, onUnauthorized, apiUrl } from './api.mjs';
import { asset } from './config.mjs';
import { startRouter, navigate, refresh, currentRoute, pageDef, hrefFor, track, preload, parseHash } from './router.mjs';
import { session, setUser, setGroup, setUnread, on, isAdmin } from './session.mjs';
import { h, fill, icon } from './ui/dom.mjs';
import { toast } from './ui/toast.mjs';
import { setZone as setChartZone } from './chart/format.mjs';
import { startMaintenanceBanner } from './maintenance.mjs';
import { startQuotaBanner } from './quota_banner.mjs';
import { sharedGet, duringStart } from './shell_data.mjs';
// The route table: each page's module is loaded when first shown.
import './pages/index.mjs';
import './alarms/view_only.mjs';

const header = document.getElementById('header');
const nav = document.getElementById('nav');
const main = document.getElementById('main');
const UNREAD_POLL_MS = 60000;
let unreadTimer = null;
let logoUrl = null;

/** The navigation: [name, label key, admin only]. Pages not registered are left out. */
const NAV = [
  ['monitor', 'nav.monitor'],
  ['dashboards', 'nav.dashboards'],
  ['viewer', 'nav.viewer'],
  ['computed', 'nav.computed'],
  ['alarms', 'nav.alarms'],
  ['reports', 'nav.reports'],
  ['drive', 'nav.drive'],
  ['share', 'nav.share'],
  ['notifications', 'nav.notifications'],
  ['inquiries', 'nav.inquiries', 'member'],
  ['account', 'nav.my_account'],
  ['help', 'nav.help'],
];
const ADMIN_NAV = [
  ['admin/account', 'nav.admin_account'],
  ['admin/users', 'nav.admin_users'],
  ['admin/teams', 'nav.admin_teams'],
  ['admin/groups', 'nav.admin_groups'],
  ['admin/apps', 'nav.admin_apps'],
  ['admin/devices', 'nav.admin_devices'],
  ['admin/channels', 'nav.admin_channels'],
  ['admin/security', 'nav.admin_security'],
  ['admin/audit', 'nav.admin_audit'],
  ['admin/recipients', 'nav.admin_recipients'],
  ['admin/destinations', 'nav.admin_destinations'],
  ['admin/inquiries', 'nav.admin_inquiries'],
];

// ------------------------------------------------------------- sign-in state

async function loadGroups() {
  const [g, cur] = await Promise.all([api.get('/groups'), api.get('/me/group')]);
  session.groups = g.status === 200 ? g.body.groups || [] : [];
  let id = cur.status === 200 && cur.body.group ? cur.body.group.id : null;
  if (id === null && session.groups.length) {
    // M1: the first group becomes the current one, saved for next time.
    id = session.groups[0].id;
    await api.put('/me/group', { group_id: id });
  }
  setGroup(id);
}

let accountLanguage = null; // the account's language (GET /account), for recordLanguage()

async function loadLogo() {
  // Shared with the over-quota banner (and a first page that reads it):
  // one GET /account per page load (shell_data.mjs).
  const r = await sharedGet('/account');
  const has = r.status === 200 && r.body.has_logo;
  accountLanguage = r.status === 200 ? r.body.language || null : null;
  logoUrl = has ? `${apiUrl('/account/logo')}?v=${encodeURIComponent(r.body.updated_at || '')}` : null;
}

/**
 * A profile without a language (users.language NULL) has its mails in the
 * account's language. When the portal is read in another one (the
 * browser's, or one chosen here before signing in), it becomes the
 * profile's, so that sign-in codes, alarms and messages come in the
 * language the person reads (docs/auth.md "The user's language"). Only
 * while the profile has none, and the server decides that
 * (language_if_unset): a language the user chose, even a moment ago in
 * another tab, is never replaced. The reply says which language is the
 * profile's now. Not awaited: the page does not wait for it, and it shows
 * nothing, whatever the answer (a background nicety; the next page load
 * tries again).
 *
 * During a rolling upgrade the request may reach a server older than
 * language_if_unset, which refuses the field (400 unknown_field): then the
 * portal records the language as the portals of that server did, with
 * {language}, after reading the profile once more just before, so that
 * only a choice made in the moment between the two requests could be
 * replaced (the race language_if_unset closes on a newer server).
 */
async function recordLanguage(u) {
  const code = language();
  // The account's, read with the logo (loadLogo): no request of its own.
  if (!accountLanguage || accountLanguage === code) return;
  let r = await api.patch('/me', { language_if_unset: code }, { quiet401: true });
  if (r.status === 400 && r.body && r.body.code === 'unknown_field' && r.body.field === 'language_if_unset') {
    const me = await api.get('/me', { quiet401: true });
    if (me.status !== 200 || me.body.language || session.user !== u || u.language || language() !== code) return;
    r = await api.patch('/me', { language: code }, { quiet401: true });
  }
  // Unless a choice made here meanwhile has set it already.
  if (r.status === 200 && session.user === u && !u.language) u.language = r.body.language || null;
}

/**
 * Enter the signed-in state with the user of a login or session reply.
 * "fresh" = a sign-in just now (the profile's language then wins over the
 * browser's remembered one).
 */
async function enter(user, { fresh }) {
  // The profile, the groups, the logo and the unread count at once: none
  // of them waits for another (issue 15: the start's round trips).
  refreshUnread();
  unreadAt = Date.now();
  const [me] = await Promise.all([api.get('/me', { quiet401: true }), loadGroups(), loadLogo()]);
  const u = me.status === 200 ? me.body : user;
  session.user = u;
  let stored = null;
  try { stored = localStorage.getItem('metron.lang'); } catch { /* blocked */ }
  if (u.language && (fresh || !stored) && u.language !== language()) {
    await setLanguage(u.language);
  } else if (me.status === 200 && !u.language) {
    // data-recording on <html> while the language is being recorded: what
    // a test waits for before it signs the same user in again.
    const root = document.documentElement;
    root.dataset.recording = 'language';
    recordLanguage(u).catch(() => { /* recorded at the next page load */ })
      .finally(() => { delete root.dataset.recording; });
  }
  // Times in the zone the user chose (I2), else the device's (V5).
  setTimeZone(u.time_zone || null);
  setUser(u);
  buildShell();
  // The count asked above is the first page's too, however long the start
  // took on a busy machine: its render does not ask again.
  unreadAt = Date.now();
  unreadAsked = true;
  pollUnread();
}

function leave(reason) {
  clearTimeout(unreadTimer);
  setTimeZone(null);
  unreadTimer = null;
  setCsrf(null);
  session.groups = [];
  setUser(null);
  buildShell();
  const { name, params } = currentRoute();
  // After an expired session, signing in again returns to the page asked for.
  const next = reason === 'expired' && name && !(pageDef(name) || {}).public
    ? hrefFor(name, params) : undefined;
  navigate('signin', { reason, next }, { replace: true });
}

/** The address a sign-in goes on to ("next" of the sign-in page), or null: the monitor. */
function afterSignIn(next) {
  return next && next.startsWith('#/') && !next.startsWith('#/signin') ? next : null;
}

/**
 * On the sign-in page, once the browser is idle: the module of the page that
 * signing in leads to, so that it is there when the password has been typed.
 */
function preloadAfterSignIn() {
  const to = afterSignIn(currentRoute().params.next);
  const go = () => { if (!session.user) preload(to ? parseHash(to).name : 'monitor'); };
  if (window.requestIdleCallback) requestIdleCallback(go, { timeout: 2000 });
  else setTimeout(go, 500);
}

/** Called by the sign-in page with the login (or two-step) reply body. */
on('signin', async ({ user, csrf_token: csrf, next }) => {
  setCsrf(csrf);
  // The next page's module (if the sign-in page has not loaded it already)
  // loads while the profile and the groups are asked.
  const to = afterSignIn(next);
  preload(to ? parseHash(to).name : 'monitor');
  await duringStart(() => enter(user, { fresh: true }));
  if (to) location.hash = to;
  else navigate('monitor');
});
on('signout', (reason) => leave(reason));
// Tracked (router.mjs): the page's rendered mark waits for the new header.
on('logo', () => track(async () => { await loadLogo(); buildShell(); }));
on('groups', () => track(async () => { await loadGroups(); buildShell(); }));

// A 401 on any request: the session ended (24 h idle, ended elsewhere).
onUnauthorized(() => {
  if (session.user) leave('expired');
});

async function logout() {
  await api.post('/auth/logout', {}, { quiet401: true });
  leave('logged_out');
}

// ------------------------------------------------------------- unread badge

async function refreshUnread() {
  const r = await api.get('/notifications/unread-count');
  if (r.status === 200) setUnread(r.body.unread || 0);
}
// Also on moving to another page and on coming back to the window (at most every 2 s).
let unreadAt = 0;
let unreadAsked = false; // enter() asked it for the first page
function refreshUnreadSoon() {
  if (!session.user || Date.now() - unreadAt < 2000) return;
  unreadAt = Date.now();
  refreshUnread();
}
window.addEventListener('focus', refreshUnreadSoon);
// Every minute after enter() asked (the page's own render then does not ask
// again either: refreshUnreadSoon waits 2 s after it).
function pollUnread() {
  clearTimeout(unreadTimer);
  unreadTimer = setTimeout(function tick() {
    if (!session.user) return;
    refreshUnread();
    unreadTimer = setTimeout(tick, UNREAD_POLL_MS);
  }, UNREAD_POLL_MS);
}
on('unread', (n) => {
  const badge = document.getElementById('unread-badge');
  const link = document.getElementById('notif-link');
  if (!badge || !link) return;
  badge.textContent = n > 99 ? '99+' : String(n);
  badge.hidden = !n;
  link.setAttribute('aria-label', t('header.notifications_unread', { count: n }));
});

// ------------------------------------------------------------- the shell

function toggleNav(open) {
  const show = open ?? !document.body.classList.contains('nav-open');
  document.body.classList.toggle('nav-open', show);
  const btn = document.getElementById('nav-toggle');
  if (btn) btn.setAttribute('aria-expanded', String(show));
}

function buildHeader() {
  const u = session.user;
  const groupSelect = h('select', {
    id: 'group-select', class: 'group-select', 'aria-label': t('header.group'),
    disabled: !session.groups.length,
    onchange: async (e) => {
      const id = Number(e.target.value);
      const r = await api.put('/me/group', { group_id: id });
      if (r.status === 200) setGroup(id);
      else toast(t('header.group_failed'), 'error');
    },
  }, session.groups.length
    ? session.groups.map((g) => h('option', { value: String(g.id), text: g.name, selected: g.id === session.groupId }))
    : h('option', { value: '', text: t('header.no_groups') }));
  const langSelect = h('select', {
    id: 'lang-select', class: 'lang-select', 'aria-label': t('header.language'),
    onchange: (e) => setLanguage(e.target.value),
  }, LANGUAGES.map((l) => h('option', { value: l.code, text: l.name, lang: l.code, selected: l.code === language() })));
  const menu = h('div', { id: 'user-dropdown', class: 'dropdown', hidden: true, role: 'menu' },
    h('p', { class: 'dropdown-who' }, h('strong', { text: u.name || u.login_id }),
      h('span', { text: u.account && (u.account.name || u.account.login_id) || '' })),
    h('a', { href: '#/account', role: 'menuitem', text: t('nav.my_account') }),
    h('button', { type: 'button', role: 'menuitem', id: 'logout', 'data-testid': 'logout', text: t('header.logout'), onclick: logout }));
  const userBtn = h('button', {
    type: 'button', id: 'user-button', class: 'user-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    onclick: (e) => {
      e.stopPropagation();
      menu.hidden = !menu.hidden;
      userBtn.setAttribute('aria-expanded', String(!menu.hidden));
    },
  }, icon('user'), h('span', { class: 'user-name', text: u.name || u.login_id }));
  fill(header,
    h('button', { type: 'button', id: 'nav-toggle', class: 'icon-btn nav-toggle', 'aria-controls': 'nav',
      'aria-expanded': 'false', 'aria-label': t('header.menu'), onclick: () => toggleNav() }, icon('menu')),
    h('a', { class: 'brand', href: '#/monitor' }, h('img', {
      id: 'logo', src: logoUrl || asset('css/logo.svg'), alt: logoUrl ? t('header.account_logo') : 'Metron',
      class: logoUrl ? 'logo logo-own' : 'logo',
    })),
    h('div', { class: 'header-selects' }, groupSelect, langSelect),
    h('a', { id: 'notif-link', class: 'icon-btn notif', href: '#/notifications',
      'aria-label': t('header.notifications_unread', { count: session.unread }) },
    icon('bell'), h('span', { id: 'unread-badge', class: 'badge', 'data-testid': 'unread-badge',
      hidden: !session.unread, text: String(session.unread) })),
    h('div', { class: 'user-menu', 'data-testid': 'user-menu' }, userBtn, menu));
}

function buildNav() {
  const { name: cur } = currentRoute();
  const link = ([name, key]) => (pageDef(name) ? h('a', {
    href: `#/${name}`, class: ['nav-link', (cur === name || cur.startsWith(`${name}/`)) && 'active'],
    'data-page': name, text: t(key), onclick: () => toggleNav(false),  // i18n-keys: nav.*
  }) : null);
  const items = NAV.filter(([, , only]) => !(only === 'member' && isAdmin())).map(link);
  // The offline file viewer (D5) is a page of its own: it opens in a new tab.
  items.push(h('a', { href: 'offline.html', target: '_blank', rel: 'noopener', class: 'nav-link nav-external',
    'data-page': 'offline', text: t('nav.offline') }));
  fill(nav, h('div', { class: 'nav-section' }, items),
    isAdmin() ? h('div', { class: 'nav-section' }, h('p', { class: 'nav-title', text: t('nav.admin') }),
      ADMIN_NAV.map(link)) : null);
}

function buildShell() {
  const signedIn = !!session.user;
  document.body.classList.toggle('signed-in', signedIn);
  header.hidden = !signedIn;
  nav.hidden = !signedIn;
  if (!signedIn) { header.replaceChildren(); nav.replaceChildren(); return; }
  buildHeader();
  buildNav();
}

document.addEventListener('click', (e) => {
  // A tap beside the open phone navigation closes it.
  if (document.body.classList.contains('nav-open') && !e.target.closest('#nav, #nav-toggle')) toggleNav(false);
  const menu = document.getElementById('user-dropdown');
  if (menu && !menu.hidden && !e.target.closest('.user-menu')) {
    menu.hidden = true;
    document.getElementById('user-button').setAttribute('aria-expanded', 'false');
  }
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') toggleNav(false);
});

// A new time zone shows the page again with its times in it.
onTimeZoneChange((z) => { setChartZone(z); if (session.user) refresh(); });

onLanguageChange(async (code) => {
  if (session.user) buildShell();
  refresh();
  // Saved to the profile too, so that the choice follows the user.
  if (session.user && session.user.language !== code) {
    const r = await api.patch('/me', { language: code });
    if (r.status === 200) session.user.language = code;
  }
});

// ------------------------------------------------------------- start

function guard(name, def, params) {
  if (!name) return { name: session.user ? 'monitor' : 'signin', params: {} };
  if (def && def.public) {
    if (name === 'signin' && session.user) return { name: 'monitor', params: {} };
    return null;
  }
  if (!session.user) return { name: 'signin', params: { next: hrefFor(name, params) } };
  if (def && def.admin && !isAdmin()) return { name: 'monitor', params: {} };
  return null;
}

/**
 * Start loading the first page's module as soon as the sign-in state is
 * known, while the catalogues load and the profile and groups are asked:
 * the page the address names, else the monitor, or the sign-in page for
 * someone not signed in.
 */
function preloadFirst(signedIn) {
  const first = currentRoute().name;
  const def = first && pageDef(first);
  if (signedIn) preload(first || 'monitor');
  else preload(def && def.public ? first : 'signin');
}

const signedInReply = (s) => !!(s.status === 200 && s.body && s.body.user);

async function start() {
  // The sign-in state is asked while the language loads.
  const session0 = api.get('/auth/session', { quiet401: true });
  session0.then((s) => preloadFirst(signedInReply(s)), () => {});
  await initI18n();
  startMaintenanceBanner();
  startQuotaBanner();
  const s = await session0;
  if (signedInReply(s)) {
    if (s.body.csrf_token) setCsrf(s.body.csrf_token);
    await enter(s.body.user, { fresh: false });
  } else {
    setCsrf(null);
    buildShell();
  }
  return startRouter(main, {
    guard,
    after: (name) => {
      if (session.user) {
        buildNav();
        if (unreadAsked) unreadAsked = false;
        else refreshUnreadSoon();
      } else if (name === 'signin') {
        preloadAfterSignIn();
      }
      toggleNav(false);
      main.focus({ preventScroll: true });
    },
  });
}

// The start, up to the first page drawn, shares its replies (shell_data.mjs).
duringStart(start);
