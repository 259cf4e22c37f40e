// "Add to dashboard" on the monitor (M6): a device's channels become a
// panel (graph + value, graph or values) of one of the group's dashboards,
// or of a new one when the plan has room (P9). The button is the monitor's;
// the dialog (add_dialog.mjs), its words (the "dashboards" catalogue,
// i18n.mjs loadAreas) and its style sheet are loaded with the group's
// dashboards when it is pressed, not with the monitor: the monitor is the
// first page after sign-in.
import { t, loadAreas } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { session } from '../session.mjs';
import { h } from '../ui/dom.mjs';
import { toast } from '../ui/toast.mjs';
import { stylesheet } from '../router.mjs';

/** The button of a device ("channels": [{id, name, key, unit}]). */
export function addToDashboardButton(channels, deviceName) {
  return h('button', { type: 'button', class: 'small', 'data-testid': 'add-to-dashboard',
    text: t('dash.add_to_dashboard'), onclick: () => openDialog(channels, deviceName) });
}

async function openDialog(channels, deviceName) {
  const gid = session.groupId;
  const failed = (what) => (e) => { console.warn(what, e); return null; };
  const [r, dialog, styled, words] = await Promise.all([api.get(`/groups/${gid}/dashboards`),
    import('./add_dialog.mjs').catch(failed('dash/add_dialog.mjs')),
    stylesheet('dashboards').then(() => true, failed('css/dashboards.css')),
    loadAreas(['dashboards']).then(() => true, failed('i18n dashboards'))]);
  if (r.status !== 200) { toast(errorMessage(r.body, r.status), 'error'); return; }
  if (!dialog || !styled || !words) { toast(t('error.network'), 'error'); return; }
  await dialog.addDialog(gid, r.body, channels, deviceName);
}
