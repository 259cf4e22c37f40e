// The view-only session that the link of alarm mail opens (A8): its end is
// kept in sessionStorage (it ends with the tab) by the alarms page, which
// asks viewOnly() what it may offer. Imported by the start-up (app.mjs), not
// only by the alarms page that is loaded when first shown: a normal sign-in
// or a sign-out forgets it whichever page the tab shows.
import { on } from '../session.mjs';

export const VIEW_ONLY_KEY = 'metron.viewonly';

/** The end (ms) of a view-only session opened by an alarm mail's link (A8), or 0. */
export function viewOnly() {
  let v = null;
  try { v = sessionStorage.getItem(VIEW_ONLY_KEY); } catch { /* blocked */ }
  const end = v ? Date.parse(v) : 0;
  return end > Date.now() ? end : 0;
}

// A view-only session ends with the tab, at its end or at sign-out; a normal sign-in forgets it.
const forget = () => { try { sessionStorage.removeItem(VIEW_ONLY_KEY); } catch { /* blocked */ } };
on('signin', (x) => { if (!x || !x.viewOnly) forget(); });
on('user', (u) => { if (!u) forget(); });
