// Every page module of the portal; each registers itself with the router.
import './signin.mjs';
import './reset.mjs';
// TODO import './monitor.mjs';
// TODO import './notifications.mjs';
// TODO import './account.mjs';
// TODO import './inquiries.mjs';
// TODO import './admin/account.mjs';
// TODO import './admin/users.mjs';
// TODO import './admin/teams.mjs';
// TODO import './admin/groups.mjs';
// TODO import './admin/apps.mjs';
// TODO import './admin/devices.mjs';
// TODO import './admin/recipients.mjs';
// TODO import './admin/inquiries.mjs';
// The viewer engineer's pages:
// import './viewer.mjs';
// import './drive.mjs';
