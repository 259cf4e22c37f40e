#!/usr/bin/env node
// The portal's screenshot review pages (docs/img/README.md and one page per
// area, docs/img/review-<area>.md): copies the screenshots the Chromium
// tests wrote (build/portal-shots/, `node --test tests/portal/`) into
// docs/img/review/ and writes the pages that show them, PC and phone side
// by side. Run it after the portal tests when a page changed, look at the
// pages, and commit what changed. A picture of a page before a fix may be
// kept as docs/img/review/before/<name>.png: its page shows it under the new one.
//
//   node scripts/portal-review-shots.mjs [--check]
//
// --check only lists screenshots that are missing from build/portal-shots.
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const repo = path.resolve(path.dirname(url.fileURLToPath(import.meta.url)), '..');
const shots = path.join(repo, 'build', 'portal-shots');
const out = path.join(repo, 'docs', 'img');
const dir = path.join(out, 'review');

// [area, title, what to look at, [[screenshot, caption], ...]] — the
// screenshots are those of tests/portal/*.test.mjs (their names there).
const AREAS = [
  ['monitor', 'Monitor', 'Connected only while the app is heard from; every value\'s age, stale values marked; special values as words with the chart\'s marks; high-speed mode with its end and whether values arrive.', [
    ['monitor-trust-pc', 'Connected, ages, a stale value, +OVER as a word (monitor_trust.test.mjs)'],
    ['monitor-no-contact-pc', 'The app said goodbye 11 minutes ago: "Not connected", with the last contact'],
    ['monitor-live-phone', 'High-speed mode on a 390×844 phone: countdown, end time, values arriving'],
    ['monitor-names-phone', 'A long channel name wraps in its tile; the status line one part to a line (German, review.test.mjs)'],
    ['monitor-digits-pc', 'Values with 5 significant digits (21.847, 12,346), or the channel\'s decimals (21.8 with one): the rule of every place a value is shown (monitor.test.mjs)'],
  ]],
  ['viewer', 'Viewer and charts', 'One y-axis per unit (units beyond the room named and hidden); the chart on the first screen; names wrap; the nearest value between samples; an empty period said; compare mode with every channel; the list keeps its names on a phone.', [
    ['charts-32-pc', '32 channels in six units at 1366×768 (charts.test.mjs)'],
    ['charts-32-phone', 'The same on a 390×844 phone: the setup folded, the chart on the first screen'],
    ['charts-nearest-pc', 'Zoomed in between samples: the nearest value with its time'],
    ['charts-empty-pc', 'A period without values says so'],
    ['charts-compare-pc', 'Two periods of 32 channels: 64 series'],
    ['charts-list-phone', 'List mode on a phone: a table with its channel names'],
    ['viewer-zone-pc', 'Times in the zone chosen in My settings (New York; timezone.test.mjs)'],
    ['viewer-modes-de-phone', 'The four modes on one line of a 375 px phone in German (and every language; viewer.test.mjs)'],
  ]],
  ['computed', 'Computed channels', 'The expression checked as it is typed by the wasm core, the mistake marked; the preview of the last 24 hours.', [
    ['computed-editor-pc', 'The editor with its preview (computed_import.test.mjs)'],
    ['computed-list-pc', 'The list with the back-fill state'],
    ['computed-editor-phone', 'The editor on a 390×844 phone'],
  ]],
  ['forms', 'New forms', 'A new computed channel or alarm says what to type in grey; a mistake once typed, or the form saved, is red.', [
    ['computed-new-phone', 'A new computed channel on a phone: the example in grey (German, review.test.mjs)'],
    ['alarm-new-phone', 'A new alarm: its empty threshold not marked as a mistake'],
  ]],
  ['drive', 'Drive and import', 'A name clash keeps the dialog and what was typed; a file imported into measured channels with progress; below Pro the dialog says why not.', [
    ['drive-name-clash-pc', 'A folder name already in use (fixes.test.mjs)'],
    ['import-pc', 'Importing a HOK2 file: its channels mapped onto measured channels'],
    ['import-standard-phone', 'On the Standard plan, on a phone: the plan does not include it'],
  ]],
  ['admin', 'Administration', 'The Users table with its actions in view at 1366 px; app credentials; channels; the IP allow-list; the audit log in sentences; the plan form preselecting nothing.', [
    ['users-pc', 'Users with long names and addresses: Edit and Delete in view'],
    ['teams-phone', 'Teams on a phone: the members and their number under headings of their own (German, review.test.mjs)'],
    ['apps-credential-pc', 'A renewed app credential, shown once'],
    ['channels-pc', 'A device\'s channels: add, rename, unit, acquire'],
    ['channels-phone', 'Channels on a 390×844 phone'],
    ['security-pc', 'The IP allow-list with the browser\'s own address'],
    ['security-standard-phone', 'The allow-list on the Standard plan: a sentence, no code'],
    ['audit-pc', 'The audit log filtered to users\' changes'],
    ['audit-phone', 'The audit log on a 390×844 phone: what was done and to what under their labels, from the left (admin_pages.test.mjs)'],
    ['account-plan-pc', 'Plan change of a Pro account: nothing preselected, quotas in words'],
    ['account-usage-pc', 'Each limit\'s use as a bar under its name (review.test.mjs)'],
    ['account-plans-phone', 'The plans on a phone: a card per limit, the four plans side by side (German)'],
  ]],
  ['alarms', 'Alarms and app share', 'An alarm\'s rule and sentence read from the left on a phone; a member who may only look at what the apps share sees no button the server would refuse, but why.', [
    ['alarms-list-phone390', 'The alarm list on a 390×844 phone: the sentence and the rule under their labels, from the left (alarms.test.mjs)'],
    ['share-phone', 'App share for a member with drive access "view" and a view grant on the group: no upload or delete, the reasons in sentences (share.test.mjs)'],
  ]],
  ['account', 'My settings, help', 'The time zone by name; Web API tokens; a two-step code mistyped keeps you signed in; help and about.', [
    ['account-zone-pc', 'The time zone chosen from the specification\'s list'],
    ['account-zone-device-de-pc', 'The device\'s own zone by its offset in the field, by name in the help under it: not cut at 1366 px (German; timezone.test.mjs)'],
    ['account-zone-device-zh-pc', 'The same in Chinese'],
    ['token-made-pc', 'A Web API token, shown once'],
    ['account-sessions-pc', 'Where you are signed in: the browser and system in words (review.test.mjs)'],
    ['help-pc', 'Help and about: version, the supported instruments, the references'],
    ['help-phone390', 'Help on a phone'],
    ['help-models-phone', 'The supported instruments on a phone: a short card each (German, review.test.mjs)'],
  ]],
];

// The images docs/portal.md and docs/viewer.md show, refreshed from the same runs.
const DOC_IMAGES = [
  ['monitor-detail-pc', 'portal-monitor-pc'], ['monitor-phone', 'portal-monitor-phone'],
  ['monitor-ja-pc', 'portal-monitor-ja-pc'], ['signin-pc', 'portal-signin-pc'],
  ['admin-users-phone', 'portal-users-phone'], ['viewer-graph-pc', 'portal-viewer-pc'],
  ['drive-pc', 'portal-drive-pc'], ['offline-phone', 'portal-offline-phone'],
];

const check = process.argv.includes('--check');
const missing = [];
for (const [, , , list] of AREAS) for (const [name] of list) if (!fs.existsSync(path.join(shots, `${name}.png`))) missing.push(name);
for (const [name] of DOC_IMAGES) if (!fs.existsSync(path.join(shots, `${name}.png`))) missing.push(name);
if (missing.length) {
  console.error(`missing in build/portal-shots (run node --test tests/portal/ first): ${missing.join(', ')}`);
  process.exit(1);
}
if (check) process.exit(0);

fs.mkdirSync(dir, { recursive: true });
const index = ['# Portal screenshots for review', '',
  'Made by the Chromium tests (`tests/portal/`, 1366×768 and a 390×844 phone) and copied here by',
  '`node scripts/portal-review-shots.mjs`. One page per area:', ''];
for (const [area, title, what, list] of AREAS) {
  const page = [`# ${title}`, '', what, '', '[All areas](README.md)', ''];
  for (const [name, caption] of list) {
    fs.copyFileSync(path.join(shots, `${name}.png`), path.join(dir, `${name}.png`));
    page.push(`## ${caption}`, '', `![${caption}](review/${name}.png)`, '');
    // docs/img/review/before/<name>.png, kept by hand: the page before a fix, for comparison.
    if (fs.existsSync(path.join(dir, 'before', `${name}.png`))) page.push(`Before the fix:`, '', `![Before: ${caption}](review/before/${name}.png)`, '');
  }
  fs.writeFileSync(path.join(out, `review-${area}.md`), page.join('\n'));
  index.push(`- [${title}](review-${area}.md): ${what}`);
}
fs.writeFileSync(path.join(out, 'README.md'), `${index.join('\n')}\n`);
for (const [name, doc] of DOC_IMAGES) fs.copyFileSync(path.join(shots, `${name}.png`), path.join(out, `${doc}.png`));
console.log(`docs/img: ${AREAS.length} review pages, ${AREAS.reduce((n, a) => n + a[3].length, 0)} screenshots`);
