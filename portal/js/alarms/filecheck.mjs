// File alarms from the drive (R6, S4; docs/alarms.md, "File alarms"): an
// uploaded HOK, HOK2 or HIOKI CSV file checked against the alarms of a
// measurement group (POST /drive/files/{id}/alarm-check). The person chooses
// the group (one they may change) and which channel of the group each
// channel of the file is (a channel the file names by its Metron id, or one
// of the same name and unit, is chosen already); the answer is told as
// sentences, each alarm that was raised with links to its first event and
// to its history.
import { navigate, hrefFor } from '../router.mjs';
import { t, formatNumber, formatDateTime, zoneOffset, shownZone, zoneLabel } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { session, isAdmin, setGroup } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { showDialog } from '../ui/dialog.mjs';

/** The groups whose alarms the user may run a file through (edit access). */
export function checkableGroups() {
  return (session.groups || []).filter((g) => isAdmin() || g.my_access === 'edit');
}

/** Whether "Check against alarms" is offered for drive item "it". */
export function canCheck(it) {
  return it.type === 'file' && it.viewable && checkableGroups().length > 0;
}

async function groupTargets(gid) {
  const r = await api.get(`/groups/${gid}/monitor`);
  if (r.status !== 200) return { error: errorMessage(r.body, r.status) };
  const out = [];
  for (const a of r.body.apps || []) for (const d of a.devices || []) for (const c of d.channels || []) {
    out.push({ id: c.id, name: c.name || c.key, unit: c.unit || '', label: `${c.name || c.key}${c.unit ? ` [${c.unit}]` : ''} — ${d.name || d.model}` });
  }
  for (const c of r.body.computed || []) {
    out.push({ id: c.id, name: c.name, unit: c.unit || '', label: `${c.name}${c.unit ? ` [${c.unit}]` : ''} — ${t('alarms.computed_channel')}` });
  }
  return { targets: out };
}

/** Go to the alarm history of rule "ruleId" of group "gid" (made the current group first). */
async function openHistory(gid, ruleId) {
  if (session.groupId !== gid) {
    const r = await api.put('/me/group', { group_id: gid });
    if (r.status === 200) setGroup(gid);
  }
  navigate('alarms/events', { rule: ruleId });
}

/** The answer as sentences; a link leaves the dialog (close) for the alarm pages. */
function resultView(res, gid, close) {
  const p = { samples: formatNumber(res.samples), rules: formatNumber(res.rules_checked), events: formatNumber(res.events) };
  if (!res.rules_checked) return h('p', { class: 'notice warn', 'data-testid': 'filecheck-result', 'data-events': '0', text: t('filecheck.no_rules') });
  return h('div', { class: 'fc-result', 'data-testid': 'filecheck-result', 'data-events': String(res.events) },
    h('p', { class: res.raised.length ? 'notice error' : 'form-ok', text: t(res.raised.length ? 'filecheck.result' : 'filecheck.result_none', p) }),
    res.raised.length ? h('ul', { class: 'fc-raised' }, res.raised.map((x) => h('li', { 'data-rule': String(x.rule_id) },
      h('span', { text: t('filecheck.raised', { rule: x.rule_name, count: formatNumber(x.count), time: formatDateTime(x.first_t / 1000, { seconds: true }) }) }),
      h('div', { class: 'fc-links' },
        h('a', { href: hrefFor(`alarms/events/${x.first_event_id}`), 'data-testid': 'filecheck-event', text: t('filecheck.open_event'),
          onclick: () => close(null) }),
        h('a', { href: hrefFor('alarms/events', { rule: x.rule_id }), 'data-testid': 'filecheck-history', text: t('filecheck.open_history', { rule: x.rule_name }),
          onclick: (e) => { e.preventDefault(); close(null); openHistory(gid, x.rule_id); } }))))) : null);
}

/** The dialog for drive file "it" ({id, name, kind}). */
export function checkFileDialog(it) {
  const groups = checkableGroups();
  return showDialog({
    title: t('filecheck.title', { name: it.name }),
    wide: true,
    onOpen(dlg, close) {
      const body = dlg.querySelector('.dialog-body');
      const isCsv = it.kind === 'hioki_csv';
      const offset = isCsv ? zoneOffset(shownZone(), Date.now()) : 0;
      const status = h('p', { class: 'muted', role: 'status', 'data-testid': 'filecheck-status', text: t('drive.view.loading') });
      const groupSel = h('select', { id: 'fc-group', 'data-testid': 'filecheck-group' },
        groups.map((g) => h('option', { value: String(g.id), text: g.name, selected: g.id === session.groupId })));
      const mapBox = h('div', { 'data-testid': 'filecheck-map' });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'filecheck-error' });
      const out = h('div', { 'aria-live': 'polite' });
      const start = h('button', { type: 'button', class: 'primary', 'data-testid': 'filecheck-start', text: t('filecheck.start'), disabled: true });
      let rows = [];
      let file = null;
      fill(body, h('p', { class: 'help', text: t('filecheck.intro') }),
        h('div', { class: 'field' }, h('label', { for: 'fc-group', text: t('filecheck.group') }), groupSel),
        isCsv ? h('p', { class: 'help', text: t('filecheck.clock', { zone: zoneLabel(shownZone()) }) }) : null,
        status, mapBox, err, out,
        h('div', { class: 'form-buttons' }, h('button', { type: 'button', text: t('common.close'), onclick: () => close(null) }), start));

      async function loadMap() {
        err.hidden = true;
        fill(out);
        start.disabled = true;
        const tg = await groupTargets(Number(groupSel.value));
        if (tg.error) { status.textContent = tg.error; return; }
        const norm = (x) => String(x || '').trim().toLowerCase();
        const ids = new Set(tg.targets.map((x) => x.id));
        rows = file.channels.map((c) => {
          // The channel the file names by its Metron id, else one of the same name and unit.
          const match = (c.id && ids.has(c.id) ? tg.targets.find((x) => x.id === c.id) : null)
            || tg.targets.find((x) => norm(x.name) === norm(c.name) && norm(x.unit) === norm(c.unit));
          const sel = h('select', { 'data-testid': `filecheck-target-${c.index}`, 'aria-label': c.name },
            h('option', { value: '', text: t('filecheck.skip') }),
            tg.targets.map((x) => h('option', { value: String(x.id), text: x.label, selected: match && match.id === x.id })));
          return { c, sel };
        });
        status.textContent = t('drive.importFacts', { rows: formatNumber(file.rows || 0), channels: formatNumber(file.channels.length),
          from: formatDateTime(file.first), to: formatDateTime(file.last) });
        fill(mapBox, h('p', { class: 'label', text: t('filecheck.map') }),
          isCsv ? h('p', { class: 'help', text: t('filecheck.map_help') }) : null,
          h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('drive.importFrom') }), h('th', { scope: 'col', text: t('filecheck.group') }))),
            h('tbody', {}, rows.map(({ c, sel }) => h('tr', {},
              h('td', { 'data-label': t('drive.importFrom') }, h('div', { class: 'cell-stack' }, h('strong', { text: c.name }),
                h('span', { class: 'muted small-text', text: t('filecheck.file_samples', { unit: c.unit || '—', n: formatNumber(c.samples || 0) }) }))),
              h('td', { 'data-label': t('filecheck.group') }, sel)))))));
        start.disabled = false;
      }

      groupSel.addEventListener('change', () => { if (file) loadMap(); });
      start.addEventListener('click', async () => {
        err.hidden = true;
        const channels = rows.filter((x) => x.sel.value).map((x) => ({ index: x.c.index, channel_id: Number(x.sel.value) }));
        if (!channels.length) { err.textContent = t('filecheck.none_mapped'); err.hidden = false; return; }
        start.disabled = true;
        fill(out, h('p', { class: 'muted', role: 'status', text: t('filecheck.running') }));
        const gid = Number(groupSel.value);
        const r = await api.post(`/drive/files/${it.id}/alarm-check`, isCsv ? { group_id: gid, channels, utc_offset_minutes: offset } : { group_id: gid, channels });
        start.disabled = false;
        if (r.status !== 200) { fill(out); err.textContent = errorMessage(r.body, r.status); err.hidden = false; return; }
        fill(out, resultView(r.body, gid, close));
      });

      (async () => {
        const fr = await api.get(`/drive/files/${it.id}/channels${isCsv ? `?utc_offset_minutes=${offset}` : ''}`);
        if (fr.status !== 200) { status.textContent = errorMessage(fr.body, fr.status); return; }
        file = fr.body;
        loadMap();
      })();
    },
  });
}
