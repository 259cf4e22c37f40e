// Alarms of the current measurement group (R1-R8, P7; docs/alarms.md):
//   #/alarms                 the alarm settings: state, rule in words and as
//                            core's text, enable/disable, copy, delete; the
//                            group's notices (app disconnected, S6)
//   #/alarms?new=1|edit=<id> the editor (alarm_editor.mjs)
//   #/alarms/events          the history with filters and acknowledgement
//   #/alarms/events/<id>     one event; ?login=<token> is the link of alarm
//                            mail (A8): it opens a view-only session first
import { registerPage, navigate, hrefFor } from '../router.mjs';
import { t, formatNumber, formatDateTime, LANGUAGES, toInputValue, fromInputValue } from '../i18n.mjs';
import { api, errorMessage, setCsrf, planName } from '../api.mjs';
import { session, isAdmin, on, emit, plan } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { dateField } from '../ui/datefield.mjs';
import { noGroupNotice } from '../ui/no_group.mjs';
import { pageHead, reportReply } from '../ui/crud.mjs';
import { table } from '../ui/table.mjs';
import { confirmDialog } from '../ui/dialog.mjs';
import { toast } from '../ui/toast.mjs';
import { alarmCore, describeRule, describeNoData } from '../alarms/rule.mjs';
import { eventCard } from '../alarms/events.mjs';
import { eventDeliveries } from '../alarms/deliveries.mjs';
import { alarmEditor } from './alarm_editor.mjs';
import { viewOnly, VIEW_ONLY_KEY } from '../alarms/view_only.mjs';

/** Whether the user may change the current group's alarms. */
export function canEdit(gid = session.groupId) {
  if (viewOnly()) return false;
  if (isAdmin()) return true;
  const g = session.groups.find((x) => x.id === gid);
  return !!(g && g.my_access === 'edit');
}

function tabs(active) {
  return h('div', { class: 'segmented al-tabs', role: 'group', 'aria-label': t('nav.alarms') },
    [['alarms', 'alarms.tab_settings'], ['alarms/events', 'alarms.tab_history']].map(([page, key]) => h('button', {
      type: 'button', 'aria-pressed': String(page === active), 'data-testid': `alarms-tab-${page === 'alarms' ? 'settings' : 'history'}`,
      text: t(key), onclick: () => navigate(page, {}) })));  // i18n-keys: alarms.tab_*
}

function noGroup(container, title) {
  fill(container, pageHead(title), noGroupNotice(t('monitor.no_group')));
}

// ------------------------------------------------------------- the list

async function listPage(container, gid) {
  const [r, alarm] = await Promise.all([api.get(`/groups/${gid}/alarms`), alarmCore()]);
  const edit = canEdit(gid);
  const head = pageHead(t('nav.alarms'), tabs('alarms'), edit ? h('button', { type: 'button', class: 'primary', 'data-testid': 'alarm-new',
    text: t('alarms.new'), onclick: () => navigate('alarms', { new: 1 }) }) : null);
  if (r.status !== 200) { fill(container, head, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
  const { items, quota } = r.body;
  const sentenceOf = (a) => {
    const chs = a.channel_info || [];
    if (a.kind === 'no_data') return describeNoData(a.no_data_minutes, chs[0]);
    try { return describeRule(alarm.parseRule(a.rule), chs); } catch { return ''; }
  };
  const stateOf = (a) => {
    if (!a.enabled) return h('span', { class: 'pill', 'data-testid': 'alarm-state', 'data-state': 'off', text: t('alarms.state.off') });
    if (a.state.raised) {
      return h('div', { class: 'cell-stack' }, h('span', { class: 'pill bad', 'data-testid': 'alarm-state', 'data-state': 'raised', text: t('alarms.state.raised') }),
        a.state.since ? h('span', { class: 'muted small-text', text: t('alarms.since', { time: formatDateTime(a.state.since) }) }) : null);
    }
    return h('span', { class: 'pill ok', 'data-testid': 'alarm-state', 'data-state': 'normal', text: t('alarms.state.normal') });
  };
  const actions = (a) => h('div', { class: 'row-actions' },
    h('a', { class: 'button small', href: hrefFor('alarms/events', { rule: a.id }), text: t('alarms.history') }),
    edit ? h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-edit', text: t('common.edit'), onclick: () => navigate('alarms', { edit: a.id }) }) : null,
    edit ? h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-toggle', text: t(a.enabled ? 'alarms.disable' : 'alarms.enable'),
      onclick: async () => {
        if (reportReply(await api.patch(`/alarms/${a.id}`, { enabled: !a.enabled }), t(a.enabled ? 'alarms.disabled_toast' : 'alarms.enabled_toast'))) navigate('alarms', {});
      } }) : null,
    edit ? h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-copy', text: t('common.copy'),
      onclick: async () => { if (reportReply(await api.post(`/alarms/${a.id}/copy`, {}), t('common.created'))) navigate('alarms', {}); } }) : null,
    edit ? h('button', { type: 'button', class: 'small danger', 'data-testid': 'alarm-delete', text: t('common.delete'),
      onclick: async () => {
        if (!(await confirmDialog(t('alarms.delete_confirm', { name: a.name }), { confirm: t('common.delete') }))) return;
        if (reportReply(await api.del(`/alarms/${a.id}`), t('common.deleted'))) navigate('alarms', {});
      } }) : null);
  const quotaLine = quota ? h('p', { class: 'muted small-text', 'data-testid': 'alarm-quota',
    text: t('alarms.quota', { used: formatNumber(quota.used), limit: formatNumber(quota.limit), plan: planName(plan()) }) }) : null;
  fill(container, head,
    h('p', { class: 'intro', text: t('alarms.intro') }), quotaLine,
    h('div', { 'data-testid': 'alarm-list' }, table([
      { label: t('common.name'), class: 'prose', value: (a) => h('div', { class: 'cell-stack' }, h('strong', { text: a.name }),
        h('span', { class: 'small-text', 'data-testid': 'alarm-sentence', text: sentenceOf(a) })) },
      { label: t('alarms.rule_text'), class: 'prose', value: (a) => (a.kind === 'no_data' ? t('alarms.no_data_short', { n: formatNumber(a.no_data_minutes) })
        : h('code', { class: 'al-code', text: a.rule })) },
      { label: t('alarms.state_col'), value: stateOf },
      { label: t('common.actions'), class: 'actions', value: actions },
    ], items, { empty: t('alarms.none'), rowClass: (a) => (a.state.raised && a.enabled ? 'al-row-raised' : null) })),
    await noticePanel(gid, edit));
}

/** The group's notices (S6): tell when an app disconnects, after how long, in which language, where. */
async function noticePanel(gid, edit) {
  const [r, dr] = await Promise.all([api.get(`/groups/${gid}/alarm-settings`), api.get('/destinations')]);
  if (r.status !== 200) return null;
  const s = r.body;
  const dests = dr.status === 200 ? dr.body.items || [] : [];
  const on1 = h('input', { type: 'checkbox', id: 'gn-on', checked: s.disconnect_notice, disabled: !edit, 'data-testid': 'notice-disconnect' });
  const mins = h('input', { type: 'number', id: 'gn-min', min: 1, max: 1440, step: 1, value: String(s.disconnect_minutes), disabled: !edit, 'data-testid': 'notice-minutes' });
  const lang = h('select', { id: 'gn-lang', disabled: !edit }, h('option', { value: '', text: t('alarms.notice_lang_own') }),
    LANGUAGES.map((l) => h('option', { value: l.code, text: l.name, selected: s.notice_language === l.code })));
  const set = new Set(s.notice_destinations || []);
  const box = dests.length ? h('div', { class: 'checks' }, dests.map((d) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: String(d.id), checked: set.has(d.id), disabled: !edit }),
    h('span', { text: d.name || d.address })))) : h('p', { class: 'muted small-text', text: t('alarms.no_destinations') });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
  return h('section', { class: 'panel form spaced', 'data-testid': 'notice-settings' },
    h('h2', { text: t('alarms.notices_title') }), h('p', { class: 'help', text: t('alarms.notices_intro') }),
    h('div', { class: 'field field-check' }, h('label', {}, on1, h('span', { text: t('alarms.notice_disconnect') }))),
    h('div', { class: 'field' }, h('label', { for: 'gn-min', text: t('alarms.notice_minutes') }), mins),
    h('div', { class: 'field' }, h('label', { for: 'gn-lang', text: t('alarms.notice_lang') }), lang),
    h('div', { class: 'field' }, h('span', { class: 'label', text: t('alarms.notice_destinations') }), box,
      h('p', { class: 'help', text: t('alarms.notice_destinations_help') })),
    err,
    edit ? h('div', { class: 'form-buttons' }, h('button', { type: 'button', class: 'primary', 'data-testid': 'notice-save', text: t('common.save'),
      onclick: async () => {
        err.hidden = true;
        const m = Number(mins.value);
        if (!Number.isInteger(m) || m < 1 || m > 1440) { err.textContent = t('alarms.err.notice_minutes'); err.hidden = false; return; }
        const body = { disconnect_notice: on1.checked, disconnect_minutes: m, notice_language: lang.value || null,
          notice_destinations: [...box.querySelectorAll('input:checked')].map((x) => Number(x.value)) };
        const p = await api.put(`/groups/${gid}/alarm-settings`, body);
        if (p.status === 200) toast(t('common.saved'), 'ok');
        else { err.textContent = errorMessage(p.body, p.status); err.hidden = false; }
      } })) : null);
}

registerPage('alarms', {
  title: 'nav.alarms',
  async render(container, params) {
    const gid = session.groupId;
    if (!gid) { noGroup(container, t('nav.alarms')); return on('group', () => navigate('alarms')); }
    const off = on('group', () => navigate('alarms', {}));
    if ((params.new || params.edit) && canEdit(gid)) {
      const done = await alarmEditor(container, gid, params.edit ? Number(params.edit) : null);
      return () => { off(); if (done) done(); };
    }
    await listPage(container, gid);
    return off;
  },
});

// ------------------------------------------------------------- history

const PAGE = 50;

function filterForm(params, rules) {
  const sel = (id, label, value, opts) => h('div', { class: 'field' }, h('label', { for: id, text: label }),
    h('select', { id, 'data-testid': id }, opts.map(([v, l]) => h('option', { value: v, text: l, selected: String(value ?? '') === v }))));
  const dates = {};
  const dt = (id, label, v) => h('div', { class: 'field' }, h('label', { for: id, text: label }),
    dates[id] = dateField({ kind: 'datetime', id, label, value: v ? toInputValue(Number(v) / 1000) : '', testid: id }));
  const form = h('form', { class: 'filters', 'data-testid': 'event-filters' },
    h('div', { class: 'filter-row' },
      sel('ef-rule', t('alarms.f_rule'), params.rule, [['', t('alarms.f_any_rule')], ...rules.map((r) => [String(r.id), r.name])]),
      sel('ef-state', t('alarms.f_state'), params.state, [['', t('alarms.f_any')], ['raised', t('alarms.f_raised')], ['cleared', t('alarms.f_cleared')]]),
      sel('ef-acked', t('alarms.f_acked'), params.acked, [['', t('alarms.f_any')], ['false', t('alarms.f_unacked')], ['true', t('alarms.f_acked_yes')]]),
      sel('ef-kind', t('alarms.f_kind'), params.kind, [['', t('alarms.f_any')], ['raise', t('alarms.kind_event.raise')], ['clear', t('alarms.kind_event.clear')],
        ['special', t('alarms.kind_event.special')], ['special_end', t('alarms.kind_event.special_end')]])),
    h('div', { class: 'filter-row' }, dt('ef-from', t('alarms.f_from'), params.from), dt('ef-to', t('alarms.f_to'), params.to),
      h('div', { class: 'filter-apply' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'ef-apply', text: t('alarms.f_apply') }))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!dates['ef-from'].check() || !dates['ef-to'].check()) return;
    const v = (id) => (dates[id] || form.querySelector(`#${id}`)).value;
    const us = (id) => { const ms = fromInputValue(v(id)); return Number.isFinite(ms) ? String(ms * 1000) : ''; };
    navigate('alarms/events', { rule: v('ef-rule'), state: v('ef-state'), acked: v('ef-acked'), kind: v('ef-kind'), from: us('ef-from'), to: us('ef-to') });
  });
  // On a phone the filters fold away (open when one is set), so that the events come first.
  const set = ['rule', 'state', 'acked', 'kind', 'from', 'to'].filter((k) => params[k]).length;
  return h('details', { class: 'panel al-filters', open: set > 0 || window.matchMedia('(min-width: 641px)').matches },
    h('summary', { 'data-testid': 'ef-toggle', text: set === 1 ? t('alarms.f_title_one') : set ? t('alarms.f_title_n', { n: formatNumber(set) }) : t('alarms.f_title') }), form);
}

async function historyPage(container, gid, params) {
  const rr = await api.get(`/groups/${gid}/alarms`);
  const rules = rr.status === 200 ? rr.body.items : [];
  const q = new URLSearchParams({ group_id: String(gid), limit: String(PAGE) });
  for (const k of ['state', 'acked', 'kind', 'from', 'to']) if (params[k]) q.set(k, params[k]);
  if (params.rule) q.set('rule_id', params.rule);
  const list = h('ul', { class: 'ev-list', 'data-testid': 'event-list' });
  const more = h('div', { class: 'page-tools' });
  const canAck = !viewOnly();
  async function page(before) {
    if (before) q.set('before', String(before));
    const r = await api.get(`/alarm-events?${q}`);
    if (r.status !== 200) { list.append(h('li', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
    if (!r.body.items.length && !before) list.append(h('li', { class: 'empty', text: t('alarms.no_events') }));
    for (const ev of r.body.items) list.append(eventCard(ev, { canAck }));
    fill(more, r.body.next_before ? h('button', { type: 'button', 'data-testid': 'event-more', text: t('alarms.older'),
      onclick: () => page(r.body.next_before) }) : null);
  }
  fill(container, pageHead(t('nav.alarms'), tabs('alarms/events')),
    h('p', { class: 'intro', text: t('alarms.history_intro') }),
    filterForm(params, rules), list, more);
  await page(null);
}

async function eventPage(container, id) {
  const r = await api.get(`/alarm-events/${id}`);
  const head = pageHead(t('alarms.event_title'), h('a', { class: 'button small', href: '#/alarms/events', text: t('alarms.tab_history') }));
  if (r.status !== 200) { fill(container, head, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
  const vo = viewOnly();
  const ev = r.body;
  fill(container, head,
    vo ? h('p', { class: 'notice', 'data-testid': 'view-only', text: t('alarms.view_only', { time: formatDateTime(vo) }) }) : null,
    h('ul', { class: 'ev-list' }, eventCard(ev, { canAck: !vo, link: false })),
    ev.rule_id && !vo ? h('p', {}, h('a', { href: hrefFor('alarms/events', { rule: ev.rule_id }), text: t('alarms.more_of_rule') })) : null,
    ev.rule_id && ev.channels[0] && ev.channels[0].id ? h('p', {}, h('a', { href: hrefFor('viewer', { channels: ev.channels.map((c) => c.id).filter(Boolean) }),
      text: t('alarms.open_viewer') })) : null);
  // Administrators see where its messages went and how each delivery went (R8).
  if (isAdmin() && !vo && !ev.late) container.append(await eventDeliveries(ev));
}

/** The link of an alarm mail (A8): a view-only session for 30 minutes, then the event. */
async function temporaryLogin(container, params) {
  const r = await api.post('/auth/temporary', { token: params.login }, { quiet401: true });
  if (r.status !== 200) {
    fill(container, h('div', { class: 'auth' }, h('div', { class: 'auth-card' },
      h('h1', { text: t('alarms.link_title') }),
      h('p', { 'data-testid': 'link-refused', text: r.body && r.body.code === 'link_expired' ? t('alarms.link_expired') : errorMessage(r.body, r.status) }),
      h('a', { class: 'button primary', href: hrefFor('signin', { next: `#/alarms/events/${params.path}` }), text: t('alarms.link_signin') }))));
    return;
  }
  try { sessionStorage.setItem(VIEW_ONLY_KEY, r.body.expires_at); } catch { /* blocked */ }
  setCsrf(r.body.csrf_token);
  emit('signin', { user: { id: r.body.user_id }, csrf_token: r.body.csrf_token, next: `#/alarms/events/${params.path}`, viewOnly: true });
}

registerPage('alarms/events', {
  title: 'alarms.tab_history',
  prefix: true,
  public: true, // the link of alarm mail signs in itself (A8); otherwise sign-in is asked for
  async render(container, params) {
    // Someone already signed in keeps their own session (a view-only one would replace it).
    if (params.login && params.path && !session.user) { await temporaryLogin(container, params); return null; }
    if (!session.user) {
      navigate('signin', { next: hrefFor(params.path ? `alarms/events/${params.path}` : 'alarms/events', {}) }, { replace: true });
      return null;
    }
    if (params.path) {
      const id = Number(params.path);
      if (!Number.isInteger(id) || id <= 0) { fill(container, h('p', { class: 'empty', text: t('common.not_found_page') })); return null; }
      await eventPage(container, id);
      return null;
    }
    const gid = session.groupId;
    if (!gid) { noGroup(container, t('nav.alarms')); return on('group', () => navigate('alarms/events')); }
    await historyPage(container, gid, params);
    return on('group', () => navigate('alarms/events', {}));
  },
});

export { viewOnly, viewOnly as isViewOnly };
