// The editor of a report setting (T1, T2; docs/reports.md, "Settings"):
// name, period (day, week, month in the group's time zone, shown), up to 32
// channels of the group (measured or computed) in the report's order, the
// content blocks, the language (one of the seven), the files, the
// recipients (users of the account, system notification recipients) and
// automatic creation. Checked here first, each mistake a sentence at its
// field; the server's refusals (a name taken, the plan's limit) likewise.
import { navigate } from '../router.mjs';
import { t, language, formatNumber, LANGUAGES } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { session, isAdmin } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { pageHead } from '../ui/crud.mjs';
import { toast } from '../ui/toast.mjs';
import { PERIODS, FORMATS, CHARTS, MAX_CHANNELS, MAX_RECIPIENTS, zoneText, quotaSentence } from './text.mjs';

/** The group's channels for the picker: [{title, channels: [{id, name, unit, key}]}]. */
export async function groupChannels(gid) {
  const r = await api.get(`/groups/${gid}/monitor`);
  if (r.status !== 200) return { error: errorMessage(r.body, r.status) };
  const sections = [];
  for (const a of r.body.apps || []) {
    for (const d of a.devices || []) {
      sections.push({ title: `${a.name} · ${d.name || `${d.model} ${d.serial}`}`,
        channels: (d.channels || []).map((c) => ({ id: c.id, name: c.name || c.key, unit: c.unit || '', key: c.key })) });
    }
  }
  if ((r.body.computed || []).length) {
    sections.push({ title: t('reports.f_computed'),
      channels: r.body.computed.map((c) => ({ id: c.id, name: c.name || c.key || `#${c.id}`, unit: c.unit || '', computed: true })) });
  }
  return { sections };
}

/** The time zone of a group's reports: its own, else the account's. */
export async function groupZone(gid) {
  const [g, a] = await Promise.all([api.get(`/groups/${gid}`), api.get('/account')]);
  if (g.status === 200 && g.body.time_zone) return g.body.time_zone;
  if (a.status === 200 && a.body.time_zone) return a.body.time_zone;
  return 'UTC';
}

const label = (c) => (c.unit ? `${c.name} [${c.unit}]` : c.name);
const badName = (s) => /[/\\\u0000-\u001f\u007f]/.test(s) || s !== s.trim();

/**
 * The channel chooser: ticks in the group's sections, and the chosen ones in
 * the report's order with up / down / out. Returns {el, value(), invalid()}.
 */
function channelChooser(sections, initial, extra) {
  const byId = new Map();
  for (const s of sections) for (const c of s.channels) byId.set(c.id, c);
  for (const c of extra) if (!byId.has(c.id)) byId.set(c.id, c);
  const order = initial.filter((id) => byId.has(id));
  const boxes = [];
  const count = h('p', { class: 'help', 'data-testid': 'report-channel-count', 'aria-live': 'polite' });
  const chosenList = h('ol', { class: 'rp-chosen', 'data-testid': 'report-chosen' });
  const sync = () => {
    const set = new Set(order);
    for (const b of boxes) {
      b.checked = set.has(Number(b.value));
      b.disabled = !b.checked && order.length >= MAX_CHANNELS;
    }
    count.textContent = order.length >= MAX_CHANNELS
      ? t('reports.f_channels_full', { max: formatNumber(MAX_CHANNELS) })
      : t('reports.f_channels_count', { n: formatNumber(order.length), max: formatNumber(MAX_CHANNELS) });
    const move = (i, d) => { const [x] = order.splice(i, 1); order.splice(i + d, 0, x); sync(); };
    fill(chosenList, order.length ? order.map((id, i) => {
      const c = byId.get(id);
      return h('li', { class: 'rp-chosen-item', 'data-channel': String(id) },
        h('span', { class: 'rp-chosen-name', text: label(c) }),
        h('span', { class: 'rp-chosen-tools' },
          h('button', { type: 'button', class: 'small', 'aria-label': t('reports.f_move_up', { name: c.name }), text: '↑',
            disabled: i === 0, onclick: () => move(i, -1) }),
          h('button', { type: 'button', class: 'small', 'aria-label': t('reports.f_move_down', { name: c.name }), text: '↓',
            disabled: i === order.length - 1, onclick: () => move(i, 1) }),
          h('button', { type: 'button', class: 'small', 'aria-label': t('reports.f_remove', { name: c.name }), text: '×',
            'data-testid': 'report-chosen-remove', onclick: () => { order.splice(i, 1); sync(); } })));
    }) : h('li', { class: 'muted small-text rp-chosen-empty', text: t('reports.f_chosen_none') }));
  };
  const box = (c) => {
    const cb = h('input', { type: 'checkbox', value: String(c.id), 'data-channel': String(c.id) });
    cb.addEventListener('change', () => {
      const i = order.indexOf(c.id);
      if (cb.checked && i < 0) order.push(c.id);
      if (!cb.checked && i >= 0) order.splice(i, 1);
      sync();
    });
    boxes.push(cb);
    return h('label', { class: 'check rp-pick' }, cb, h('span', { text: label(c) }));
  };
  const all = sections.length ? sections.map((s) => h('fieldset', { class: 'rp-section' },
    h('legend', { text: s.title }), h('div', { class: 'checks rp-checks' }, s.channels.map(box))))
    : h('p', { class: 'notice warn', text: t('reports.f_channels_none') });
  const el = h('div', { class: 'rp-channels', 'data-testid': 'report-channels' },
    h('div', { class: 'rp-pickers' }, all),
    h('div', { class: 'rp-chosen-box' }, h('h3', { text: t('reports.f_chosen') }), count, chosenList));
  sync();
  return { el, value: () => [...order] };
}

/**
 * The editor page for report "id" (null: a new one) of group "gid".
 * Returns a clean-up function.
 */
export async function reportEditor(container, gid, id) {
  const me = session.user;
  const admin = isAdmin();
  const [chs, zone, rr, ur, sr, lr] = await Promise.all([groupChannels(gid), groupZone(gid),
    id ? api.get(`/reports/${id}`) : Promise.resolve(null),
    admin ? api.get('/users') : Promise.resolve(null),
    admin ? api.get('/notification-recipients') : Promise.resolve(null),
    id ? Promise.resolve(null) : api.get(`/groups/${gid}/reports`)]);
  const back = h('a', { class: 'button small', href: id ? `#/reports/${id}` : '#/reports', text: t('reports.back') });
  if (chs.error) { fill(container, pageHead(t('reports.new_title'), back), h('p', { class: 'form-error', text: chs.error })); return null; }
  if (rr && rr.status !== 200) { fill(container, pageHead(t('reports.new_title'), back), h('p', { class: 'form-error', text: errorMessage(rr.body, rr.status) })); return null; }
  const cur = rr ? rr.body : null;
  const tz = cur ? cur.time_zone : zone;
  const users = ur && ur.status === 200 ? ur.body.users || [] : null;
  const systems = sr && sr.status === 200 ? sr.body.items || [] : null;

  // ---------------------------------------------------------------- fields
  const err = {}; // field -> error element
  const fieldBox = (name, labelText, control, ...more) => {
    err[name] = h('p', { class: 'field-error', role: 'alert', hidden: true, 'data-testid': `report-err-${name}` });
    return h('div', { class: 'field', 'data-field': name },
      labelText ? (control && control.id ? h('label', { for: control.id, text: labelText }) : h('span', { class: 'label', text: labelText })) : null,
      control, ...more, err[name]);
  };
  const name = h('input', { id: 'rp-name', maxlength: '100', value: cur ? cur.name : '', 'data-testid': 'report-name', autocomplete: 'off' });
  const periodBtns = PERIODS.map((p) => h('button', { type: 'button', 'aria-pressed': String((cur ? cur.period : 'day') === p),
    'data-period': p, 'data-testid': `report-period-${p}`, text: t(`reports.period_word.${p}`),
    onclick: () => { for (const b of periodBtns) b.setAttribute('aria-pressed', String(b === periodBtns[PERIODS.indexOf(p)])); syncZone(); } }));
  const period = () => periodBtns.find((b) => b.getAttribute('aria-pressed') === 'true').dataset.period;
  const zoneNote = h('p', { class: 'help', 'data-testid': 'report-zone' });
  const syncZone = () => {
    zoneNote.textContent = t('reports.f_zone', { zone: zoneText(tz) }) + (period() === 'week' ? ` ${t('reports.f_zone_week')}` : '');
  };
  syncZone();
  const extra = cur ? cur.channel_info.map((c) => ({ id: c.id, name: c.name, unit: c.unit })) : [];
  const chooser = channelChooser(chs.sections, cur ? cur.channels : [], extra);
  const summary = h('input', { type: 'checkbox', id: 'rp-summary', checked: cur ? cur.summary : true, 'data-testid': 'report-summary' });
  const charts = h('select', { id: 'rp-charts', 'data-testid': 'report-charts' },
    CHARTS.map((c) => h('option', { value: c, text: t(`reports.charts.${c}`), selected: (cur ? cur.charts : 'per_channel') === c })));
  const alarms = h('input', { type: 'checkbox', id: 'rp-alarms', checked: cur ? cur.alarms : true, 'data-testid': 'report-alarms' });
  const lang = h('select', { id: 'rp-lang', 'data-testid': 'report-language' },
    LANGUAGES.map((l) => h('option', { value: l.code, text: l.name, lang: l.code, selected: (cur ? cur.language : language()) === l.code })));
  const fmtSet = new Set(cur ? cur.formats : ['pdf']);
  const formats = h('div', { class: 'checks', role: 'group', 'aria-label': t('reports.f_formats'), 'data-testid': 'report-formats' },
    FORMATS.map((f) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: f, checked: fmtSet.has(f), 'data-format': f }),
      h('span', { text: t(`reports.format.${f}`) }))));
  const auto = h('input', { type: 'checkbox', id: 'rp-auto', checked: cur ? cur.auto_enabled : false, 'data-testid': 'report-auto' });

  // Recipients: an administrator chooses among every user and system
  // recipient; another editor can add or remove themselves, and the others
  // chosen stay as they are.
  const curUsers = new Set(cur ? cur.recipients.users : []);
  const curSystem = new Set(cur ? cur.recipients.system : []);
  let userBox, systemBox, keptUsers = [], keptSystem = [];
  if (users) {
    userBox = h('div', { class: 'checks', role: 'group', 'aria-label': t('reports.f_users'), 'data-testid': 'report-users' },
      users.map((u) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: String(u.id), checked: curUsers.has(u.id), 'data-user': String(u.id) }),
        h('span', { text: u.disabled ? t('reports.f_disabled_user', { name: u.name || u.login_id }) : (u.name || u.login_id) }))));
  } else {
    keptUsers = [...curUsers].filter((x) => x !== me.id);
    userBox = h('div', { class: 'checks', 'data-testid': 'report-users' }, h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: String(me.id), checked: curUsers.has(me.id), 'data-user': String(me.id) }),
      h('span', { text: t('reports.f_me', { name: me.name || me.login_id }) })));
  }
  if (systems) {
    systemBox = systems.length ? h('div', { class: 'checks', role: 'group', 'aria-label': t('reports.f_system'), 'data-testid': 'report-system' },
      systems.map((s) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: String(s.id), checked: curSystem.has(s.id), 'data-recipient': String(s.id) }),
        h('span', { text: s.name ? `${s.name} (${s.address})` : s.address }))))
      : h('p', { class: 'muted small-text', text: t('reports.f_system_none') });
  } else {
    keptSystem = [...curSystem];
    systemBox = null;
  }
  const kept = keptUsers.length + keptSystem.length;

  // ---------------------------------------------------------------- checks
  const showErr = (field, text) => {
    const e = err[field] || err.form;
    e.textContent = text;
    e.hidden = false;
    const f = e.closest('.field');
    if (f) f.classList.add('invalid');
  };
  const clearErr = () => {
    for (const e of Object.values(err)) { e.hidden = true; const f = e.closest('.field'); if (f) f.classList.remove('invalid'); }
  };
  const values = () => ({
    name: name.value,
    period: period(),
    channels: chooser.value(),
    summary: summary.checked,
    charts: charts.value,
    alarms: alarms.checked,
    language: lang.value,
    formats: FORMATS.filter((f) => formats.querySelector(`[data-format="${f}"]`).checked),
    recipients: {
      users: [...keptUsers, ...[...userBox.querySelectorAll('input:checked')].map((x) => Number(x.value))],
      system: systemBox && systems ? [...systemBox.querySelectorAll('input:checked')].map((x) => Number(x.value)) : keptSystem,
    },
    auto_enabled: auto.checked,
  });
  const check = (v) => {
    let ok = true;
    const bad = (f, text) => { showErr(f, text); ok = false; };
    if (!v.name.trim()) bad('name', t('reports.err.name'));
    else if (badName(v.name)) bad('name', t('reports.err.name_chars'));
    if (!v.channels.length) bad('channels', t('reports.err.channels'));
    if (!v.summary && v.charts === 'none' && !v.alarms) bad('contents', t('reports.err.contents'));
    if (!v.formats.length) bad('formats', t('reports.err.formats'));
    if (v.recipients.users.length + v.recipients.system.length > MAX_RECIPIENTS) bad('recipients', t('reports.err.recipients', { max: formatNumber(MAX_RECIPIENTS) }));
    return ok;
  };
  // The server's refusals at their field (the name taken, a channel gone), or above the form.
  const FIELD_OF = { name: 'name', period: 'period', channels: 'channels', summary: 'contents', charts: 'contents', alarms: 'contents',
    language: 'language', formats: 'formats', recipients: 'recipients', auto_enabled: 'auto' };
  const LABEL_OF = { name: 'reports.f_name', period: 'reports.f_period', channels: 'reports.f_channels', contents: 'reports.f_contents',
    language: 'reports.f_language', formats: 'reports.f_formats', recipients: 'reports.f_recipients', auto: 'reports.f_auto' };
  const refusal = (r) => {
    const f = FIELD_OF[String((r.body && r.body.field) || '').replace(/\[\d+\]/g, '').split('.')[0]];
    showErr(f || 'form', errorMessage(r.body, r.status, { fieldLabel: f ? t(LABEL_OF[f]) : undefined }));
    (f ? err[f] : err.form).scrollIntoView({ block: 'center' });
  };

  const save = h('button', { type: 'submit', class: 'primary', 'data-testid': 'report-save', text: t('common.save') });
  err.form = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'report-error' });
  const form = h('form', { class: 'form rp-form', novalidate: true, 'data-testid': 'report-editor' },
    err.form,
    h('section', { class: 'panel form' },
      fieldBox('name', t('reports.f_name'), name, h('p', { class: 'help', text: t('reports.f_name_help') })),
      fieldBox('period', t('reports.f_period'), h('div', { class: 'segmented', role: 'group', 'aria-label': t('reports.f_period') }, periodBtns), zoneNote),
      fieldBox('language', t('reports.f_language'), lang, h('p', { class: 'help', text: t('reports.f_language_help') }))),
    h('section', { class: 'panel form' },
      fieldBox('channels', t('reports.f_channels'), null, h('p', { class: 'help', text: t('reports.f_channels_help', { max: formatNumber(MAX_CHANNELS) }) }), chooser.el)),
    h('section', { class: 'panel form' },
      fieldBox('contents', t('reports.f_contents'), null,
        h('label', { class: 'check' }, summary, h('span', { text: t('reports.f_summary') })),
        h('div', { class: 'field rp-inline' }, h('label', { for: 'rp-charts', text: t('reports.f_charts') }), charts),
        h('label', { class: 'check' }, alarms, h('span', { text: t('reports.f_alarms') }))),
      fieldBox('formats', t('reports.f_formats'), formats)),
    h('section', { class: 'panel form' },
      fieldBox('recipients', t('reports.f_recipients'), null, h('p', { class: 'help', text: t('reports.f_recipients_help') }),
        h('span', { class: 'label', text: t('reports.f_users') }), userBox,
        systems ? [h('span', { class: 'label', text: t('reports.f_system') }), systemBox] : null,
        kept ? h('p', { class: 'help', 'data-testid': 'report-kept', text: t('reports.f_others_kept', { n: formatNumber(kept) }) }) : null),
      fieldBox('auto', null, h('label', { class: 'check' }, auto, h('span', { text: t('reports.f_auto') })),
        h('p', { class: 'help', text: t('reports.f_auto_help') }))),
    h('div', { class: 'form-buttons' }, h('a', { class: 'button', href: id ? `#/reports/${id}` : '#/reports', text: t('common.cancel') }), save));
  // A mistake's sentence goes once its field is changed.
  const clearAt = (e) => {
    const f = e.target.closest && e.target.closest('.field[data-field]');
    const x = f && err[f.dataset.field];
    if (x && !x.hidden) { x.hidden = true; f.classList.remove('invalid'); }
  };
  form.addEventListener('input', clearAt);
  form.addEventListener('change', clearAt);
  form.addEventListener('click', (e) => { if (e.target.closest('.rp-chosen, .segmented')) clearAt(e); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErr();
    const v = values();
    if (!check(v)) {
      const first = Object.values(err).find((x) => !x.hidden);
      if (first) first.scrollIntoView({ block: 'center' });
      return;
    }
    save.disabled = true;
    const r = id ? await api.patch(`/reports/${id}`, v) : await api.post(`/groups/${gid}/reports`, v);
    save.disabled = false;
    if (r.status === 200 || r.status === 201) {
      toast(t(id ? 'reports.saved' : 'reports.created'), 'ok');
      navigate(`reports/${r.body.id}`, {});
      return;
    }
    refusal(r);
  });
  // A new one beyond the plan's limit (P17) is said before anything is typed; the server decides.
  const quota = lr && lr.status === 200 ? lr.body.quota : null;
  const full = quota && quota.used >= quota.limit ? quotaSentence(quota) : null;
  fill(container, pageHead(cur ? t('reports.edit_title', { name: cur.name }) : t('reports.new_title'), back),
    full ? h('p', { class: 'notice warn', 'data-testid': 'report-quota-full', text: full }) : null, form);
  name.focus();
  return null;
}
