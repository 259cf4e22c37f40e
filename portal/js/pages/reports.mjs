// Reports of the current measurement group (T1, T2, P17; docs/reports.md):
//   #/reports                  the report settings: what each holds, whether
//                              it is made automatically (and the next period),
//                              its last report; the plan's templates per
//                              group (P17) used, or why no more can be added
//   #/reports?new=1|edit=<id>  the editor (js/reports/editor.mjs)
//   #/reports/<id>             one report: its settings, "make a report now"
//                              and the reports it made with their files
import { registerPage, navigate, hrefFor, refresh } from '../router.mjs';
import { t, formatNumber, formatDateTime, formatDate, joinList, term } from '../i18n.mjs';
import { api, errorMessage, planName } from '../api.mjs';
import { session, isAdmin, on, plan } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { noGroupNotice } from '../ui/no_group.mjs';
import { pageHead, reportReply } from '../ui/crud.mjs';
import { table } from '../ui/table.mjs';
import { confirmDialog } from '../ui/dialog.mjs';
import { reportEditor } from '../reports/editor.mjs';
import { runsList, makePanel } from '../reports/runs.mjs';
import { reportLine, quotaSentence, statePill, languageName, zoneText, runPeriodText, errorSentence } from '../reports/text.mjs';

/** Whether the user may change the group's reports (edit access). */
export function canEditGroup(gid = session.groupId) {
  if (isAdmin()) return true;
  const g = session.groups.find((x) => x.id === gid);
  return !!(g && g.my_access === 'edit');
}

const nextText = (r) => {
  if (!r.auto_enabled) return t('reports.auto_off');
  if (!r.next_period) return t('reports.auto_on');
  const a = formatDate(r.next_period.from_us / 1000, r.time_zone);
  const b = formatDate(r.next_period.to_us / 1000 - 1, r.time_zone);
  return t('reports.auto_next', { period: a === b ? a : `${a} – ${b}` });
};

// ------------------------------------------------------------- the list

async function listPage(container, gid) {
  const r = await api.get(`/groups/${gid}/reports`);
  const edit = canEditGroup(gid);
  const head = pageHead(t('nav.reports'));
  if (r.status !== 200) { fill(container, head, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
  const { items, quota } = r.body;
  const full = quota.used >= quota.limit;
  if (edit) {
    head.querySelector('.page-tools')?.remove();
    head.append(h('div', { class: 'page-tools' }, h('button', { type: 'button', class: 'primary', 'data-testid': 'report-new',
      text: t('reports.new'), disabled: full, onclick: () => navigate('reports', { new: 1 }) })));
  }
  const actions = (rep) => h('div', { class: 'row-actions' },
    h('a', { class: 'button small', href: hrefFor(`reports/${rep.id}`), 'data-testid': 'report-open', text: t('reports.open') }),
    edit ? h('button', { type: 'button', class: 'small', 'data-testid': 'report-edit', text: t('common.edit'),
      onclick: () => navigate('reports', { edit: rep.id }) }) : null,
    edit ? h('button', { type: 'button', class: 'small', 'data-testid': 'report-auto-toggle',
      text: t(rep.auto_enabled ? 'reports.auto_disable' : 'reports.auto_enable'),
      onclick: () => toggleAuto(rep, () => navigate('reports', {})) }) : null,
    edit ? h('button', { type: 'button', class: 'small danger', 'data-testid': 'report-delete', text: t('common.delete'),
      onclick: async () => {
        if (!(await confirmDialog(t('reports.delete_confirm', { name: rep.name }), { confirm: t('common.delete') }))) return;
        if (reportReply(await api.del(`/reports/${rep.id}`), t('common.deleted'))) navigate('reports', {});
      } }) : null);
  // The last report: its period, state, when it was made or why it was not.
  const last = (rep) => {
    const x = rep.last_run;
    if (!x) return h('span', { class: 'muted small-text', text: t('reports.never_made') });
    const bad = x.state === 'failed' || x.state === 'retry';
    return h('div', { class: 'cell-stack rp-last' }, statePill(x.state),
      h('span', { class: 'small-text', text: x.from_us ? runPeriodText(x) : x.label }),
      bad && x.error_kind ? h('span', { class: 'small-text rp-last-error', 'data-testid': 'report-last-error', text: errorSentence(x) }) : null,
      !bad && x.finished_at ? h('span', { class: 'muted small-text', text: formatDateTime(x.finished_at) }) : null);
  };
  fill(container, head,
    h('p', { class: 'intro', text: t('reports.intro') }),
    h('p', { class: full ? 'notice warn' : 'muted small-text', 'data-testid': 'report-quota', 'data-full': String(full),
      text: !quota.limit && items.length ? t('reports.not_in_plan', { plan: planName(plan()) }) : quotaSentence(quota) }),
    h('div', { 'data-testid': 'report-list' }, table([
      { label: t('reports.col_report'), class: 'prose', value: (rep) => h('div', { class: 'cell-stack' },
        h('a', { href: hrefFor(`reports/${rep.id}`), class: 'rp-name', text: rep.name }),
        h('span', { class: 'small-text', 'data-testid': 'report-line', text: reportLine(rep) })) },
      { label: t('reports.col_auto'), class: 'prose', value: (rep) => h('span', { class: ['small-text', rep.auto_enabled && 'rp-auto-on'],
        'data-testid': 'report-auto-state', 'data-on': String(rep.auto_enabled), text: nextText(rep) }) },
      { label: t('reports.col_last'), class: 'prose', value: last },
      { label: t('common.actions'), class: 'actions', value: actions },
    ], items, { empty: t('reports.none'), rowClass: () => 'rp-row' })));
  for (const [i, tr] of [...container.querySelectorAll('tr.rp-row')].entries()) tr.dataset.name = items[i].name;
}

// ------------------------------------------------------------- one report

/** Automatic creation switched on or off (edit access); then the page again. */
async function toggleAuto(rep, after) {
  const p = await api.patch(`/reports/${rep.id}`, { auto_enabled: !rep.auto_enabled });
  if (reportReply(p, t(rep.auto_enabled ? 'reports.auto_disabled_toast' : 'reports.auto_enabled_toast'))) after();
}

function settingsPanel(rep, edit) {
  const kv = (k, v, testid) => [h('dt', { text: t(k) }), h('dd', { 'data-testid': testid }, v)];
  const contents = joinList([rep.summary && term('reports.contents_summary'), rep.charts !== 'none' && term(`reports.charts.${rep.charts}`),
    rep.alarms && term('reports.contents_alarms')]);
  const nRcpt = rep.recipients.users.length + rep.recipients.system.length;
  return h('section', { class: 'panel', 'data-testid': 'report-settings' }, h('h2', { text: t('reports.settings') }),
    h('dl', { class: 'kv' },
      kv('reports.k_period', t(`reports.period.${rep.period}`)),
      kv('reports.k_zone', zoneText(rep.time_zone), 'report-zone'),
      kv('reports.k_channels', h('ol', { class: 'rp-ch-list' }, rep.channel_info.map((c) => h('li', { text: c.unit ? `${c.name} [${c.unit}]` : c.name })))),
      kv('reports.k_contents', contents, 'report-contents'),
      kv('reports.k_language', languageName(rep.language)),
      kv('reports.k_formats', joinList(rep.formats.map((f) => t(`reports.format.${f}`)))),
      kv('reports.k_recipients', nRcpt ? t('reports.recipients_n', { users: formatNumber(rep.recipients.users.length),
        system: formatNumber(rep.recipients.system.length) }) : t('reports.recipients_none')),
      kv('reports.k_auto', h('div', { class: 'cell-stack' }, h('span', { 'data-testid': 'report-auto-text', text: nextText(rep) }),
        rep.next_period && rep.next_period.due_from
          ? h('span', { class: 'muted small-text', 'data-testid': 'report-due', text: t('reports.auto_due', {
            from: formatDateTime(rep.next_period.due_from), by: formatDateTime(rep.next_period.due_by) }) }) : null,
        edit ? h('button', { type: 'button', class: 'small rp-auto-toggle', 'data-testid': 'report-page-auto-toggle',
          text: t(rep.auto_enabled ? 'reports.auto_disable' : 'reports.auto_enable'),
          onclick: () => toggleAuto(rep, () => refresh()) }) : null), 'report-auto'),
      rep.folder_id ? kv('reports.k_folder', h('a', { href: hrefFor('drive', { folder: rep.folder_id }), text: t('reports.open_folder'),
        'data-testid': 'report-folder' })) : null));
}

async function reportPage(container, id) {
  const r = await api.get(`/reports/${id}`);
  const back = h('a', { class: 'button small', href: '#/reports', text: t('reports.back') });
  if (r.status !== 200) { fill(container, pageHead(t('nav.reports'), back), h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return null; }
  const rep = r.body;
  const edit = canEditGroup(rep.group_id);
  const runsBox = h('section', { class: 'panel rp-runs', 'data-testid': 'report-runs' });
  const makeBox = h('section', { class: 'panel rp-make' });
  fill(container, pageHead(rep.name, back, edit ? h('button', { type: 'button', class: 'small', 'data-testid': 'report-edit',
    text: t('common.edit'), onclick: () => navigate('reports', { edit: rep.id }) }) : null),
  h('div', { class: 'rp-grid' }, edit ? makeBox : null, settingsPanel(rep, edit)), runsBox);
  const runs = runsList(runsBox, rep, { edit });
  if (edit) makePanel(makeBox, rep, { onMade: () => runs.reload() });
  return () => runs.stop();
}

registerPage('reports', {
  title: 'nav.reports',
  prefix: true,
  async render(container, params) {
    const gid = session.groupId;
    if (params.path) {
      // One report: a link names it whatever the current group.
      const off = on('group', () => navigate('reports', {}));
      const stop = await reportPage(container, Number(params.path));
      return () => { off(); if (stop) stop(); };
    }
    if (!gid) {
      fill(container, pageHead(t('nav.reports')), noGroupNotice(t('reports.no_group')));
      return on('group', () => navigate('reports', {}));
    }
    const off = on('group', () => navigate('reports', {}));
    if ((params.new || params.edit) && canEditGroup(gid)) {
      await reportEditor(container, gid, params.edit ? Number(params.edit) : null);
      return off;
    }
    await listPage(container, gid);
    return off;
  },
});

