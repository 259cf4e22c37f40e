// Every page of the portal: its route, what the router needs before its
// module is loaded (title, public, admin, prefix: router.mjs), and the
// module, imported when the page is first shown; css names the page's own
// style sheets (css/<name>.css, loaded with it: index.html links only
// app.css; tests/code/portal_pages.test.mjs checks that they exist). Each module registers its
// page(s) with registerPage when evaluated, with the same title and flags
// (tests/code/portal_pages.test.mjs checks that they agree and that the
// start-up imports no page module).
import { lazyPage } from '../router.mjs';

const signin = () => import('./signin.mjs');
const alarms = () => import('./alarms.mjs');
const PAGES = [
  ['signin', { title: 'signin.title', public: true }, signin],
  ['reset', { title: 'reset.title', public: true }, () => import('./reset.mjs')],
  ['monitor', { title: 'nav.monitor' }, () => import('./monitor.mjs')],
  ['notifications', { title: 'nav.notifications', css: ['alarms'], areas: ['alarms'] }, () => import('./notifications.mjs')],
  ['account', { title: 'nav.my_account' }, () => import('./account.mjs')],
  ['inquiries', { title: 'nav.inquiries' }, () => import('./inquiries.mjs')],
  ['admin/account', { title: 'nav.admin_account', admin: true }, () => import('./admin/account.mjs')],
  ['admin/users', { title: 'nav.admin_users', admin: true }, () => import('./admin/users.mjs')],
  ['admin/teams', { title: 'nav.admin_teams', admin: true }, () => import('./admin/teams.mjs')],
  ['admin/groups', { title: 'nav.admin_groups', admin: true }, () => import('./admin/groups.mjs')],
  ['admin/apps', { title: 'nav.admin_apps', admin: true }, () => import('./admin/apps.mjs')],
  ['admin/devices', { title: 'nav.admin_devices', admin: true }, () => import('./admin/devices.mjs')],
  ['admin/recipients', { title: 'nav.admin_recipients', admin: true, css: ['alarms'], areas: ['alarms'] }, () => import('./admin/recipients.mjs')],
  ['admin/inquiries', { title: 'nav.admin_inquiries', admin: true }, () => import('./admin/inquiries.mjs')],
  // The viewer engineer's pages:
  ['viewer', { title: 'viewer.title', areas: ['viewer'] }, () => import('./viewer.mjs')],
  ['drive', { title: 'drive.title', css: ['reports'], areas: ['viewer'] }, () => import('./drive.mjs')],
  // Issue 18: the pages for what the server could do without a page.
  ['computed', { title: 'nav.computed', areas: ['viewer'] }, () => import('./computed.mjs')],
  ['help', { title: 'nav.help' }, () => import('./help.mjs')],
  // K1-K4: what the gateway apps share (docs/app-share.md).
  ['share', { title: 'nav.share' }, () => import('./share.mjs')],
  // C1, C2: an instrument's console (docs/console.md).
  ['console', { title: 'console.title' }, () => import('./console.mjs')],
  ['admin/channels', { title: 'nav.admin_channels', admin: true }, () => import('./admin/channels.mjs')],
  ['admin/security', { title: 'nav.admin_security', admin: true }, () => import('./admin/security.mjs')],
  ['admin/audit', { title: 'nav.admin_audit', admin: true }, () => import('./admin/audit.mjs')],
  // Issue 13: alarms, their history, destinations of notifications.
  ['alarms', { title: 'nav.alarms', css: ['alarms'], areas: ['alarms', 'viewer'] }, alarms],
  ['alarms/events', { title: 'alarms.tab_history', prefix: true, public: true, css: ['alarms'], areas: ['alarms', 'viewer'] }, alarms],
  ['admin/destinations', { title: 'nav.admin_destinations', admin: true, css: ['alarms'], areas: ['alarms'] }, () => import('./admin/destinations.mjs')],
  // Issue 15: reports.
  ['reports', { title: 'nav.reports', prefix: true, css: ['reports'], areas: ['reports'] }, () => import('./reports.mjs')],
  // Issue 15: dashboards.
  ['dashboards', { title: 'nav.dashboards', prefix: true, css: ['dashboards'], areas: ['dashboards', 'viewer'] }, () => import('./dashboards.mjs')],
];
for (const [name, def, load] of PAGES) lazyPage(name, { ...def, load });
