// The over-quota banner (S8, L3; docs/operations.md "Storage quota"): while
// the account is over its storage quota, its administrators (the users who
// can free storage or change the plan) read at the top of every page since
// when, and on which day everything it stores will be deleted unless
// storage is freed or the plan upgraded, with a link to the account page.
// Built like the maintenance banner (js/maintenance.mjs). The period comes
// from GET /api/v1/account (storage_over_quota_since, storage_deletion_at),
// read at sign-in, every 5 minutes and whenever the account page loads it;
// at the start the one reply the header's logo reads too (shell_data.mjs).
import { sharedGet } from './shell_data.mjs';
import { t, formatDateTime, onLanguageChange, onTimeZoneChange } from './i18n.mjs';
import { hrefFor } from './router.mjs';
import { isAdmin, on } from './session.mjs';
import { h, pageBanner } from './ui/dom.mjs';

const POLL_MS = 5 * 60000;
let period = null; // { since, deletion } or null
let timer = null;

/** The sentence for an account reply "acc" over its quota, or null. */
export function overQuotaText(acc) {
  if (!acc || !acc.storage_over_quota_since || !acc.storage_deletion_at) return null;
  return t('quota.over', { since: formatDateTime(acc.storage_over_quota_since),
    deletion: formatDateTime(acc.storage_deletion_at) });
}

function banner() {
  return pageBanner('quota-banner', 'quota-banner', 'alert');
}

function show() {
  const el = banner();
  const text = isAdmin() && period ? overQuotaText({ storage_over_quota_since: period.since,
    storage_deletion_at: period.deletion }) : null;
  el.hidden = !text;
  el.replaceChildren();
  if (!text) return;
  el.append(h('span', { text }), ' ',
    h('a', { href: hrefFor('admin/account'), 'data-testid': 'quota-banner-link', text: t('quota.over_link') }));
}

/** The account reply "acc" (GET/PATCH /account) as the banner's state. */
export function setQuotaAccount(acc) {
  period = acc && acc.storage_over_quota_since
    ? { since: acc.storage_over_quota_since, deletion: acc.storage_deletion_at } : null;
  show();
}

async function poll() {
  clearTimeout(timer);
  timer = null;
  if (!isAdmin()) { period = null; show(); return; }
  try {
    const r = await sharedGet('/account', { quiet401: true });
    if (r.status === 200 && r.body) setQuotaAccount(r.body);
  } catch { /* unreachable: keep what is shown */ }
  timer = setTimeout(poll, POLL_MS);
}

export function startQuotaBanner() {
  onLanguageChange(show);
  onTimeZoneChange(show);
  // Signed in (or out): read the account for an administrator, hide otherwise.
  on('user', () => { poll(); });
}
