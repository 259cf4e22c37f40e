// Every page module of the portal; each registers itself with the router.
import './signin.mjs';
import './reset.mjs';
import './monitor.mjs';
import './notifications.mjs';
import './account.mjs';
import './inquiries.mjs';
import './admin/account.mjs';
import './admin/users.mjs';
import './admin/teams.mjs';
import './admin/groups.mjs';
import './admin/apps.mjs';
import './admin/devices.mjs';
import './admin/recipients.mjs';
import './admin/inquiries.mjs';
// The viewer engineer's pages:
import './viewer.mjs';
import './drive.mjs';
// Issue 18: the pages for what the server could do without a page.
import './computed.mjs';
import './help.mjs';
import './admin/channels.mjs';
import './admin/security.mjs';
import './admin/audit.mjs';
// Issue 13: alarms, their history, destinations of notifications.
import './alarms.mjs';
import './admin/destinations.mjs';
// Issue 15: reports.
import './reports.mjs';
// Issue 15: dashboards.
import './dashboards.mjs';
