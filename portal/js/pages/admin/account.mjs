// Account and plan (L7, G7, P): account and subscriber information, the
// plan, licence and usage against the quotas, plan change (L2), quotation
// request, trial upgrade (L4), own logo (P22), and the plan table.
import { registerPage, track } from '../../router.mjs';
import { t, formatNumber, formatBytes, formatDate, formatDateTime, LANGUAGES, language } from '../../i18n.mjs';
import { api, errorMessage, quotaName, planName, apiUrl } from '../../api.mjs';
import { emit } from '../../session.mjs';
import { h, fill } from '../../ui/dom.mjs';
import { buildForm } from '../../ui/form.mjs';
import { filePick } from '../../ui/file_pick.mjs';
import { pageHead, reportReply } from '../../ui/crud.mjs';
import { table } from '../../ui/table.mjs';
import { toast } from '../../ui/toast.mjs';
import { confirmDialog } from '../../ui/dialog.mjs';
import { zoneOptions } from '../account.mjs';
import { overQuotaText, setQuotaAccount } from '../../quota_banner.mjs';
import { sharedGet } from '../../shell_data.mjs';

const MONTHS = [1, 3, 12];
const monthOpts = () => MONTHS.map((m) => ({ value: m, label: t('account.months', { n: formatNumber(m) }) }));
// A limit's name heads its row: capitalised there (the catalogue's names are
// written for the middle of a sentence, "3 registered apps").
const rowName = (q) => { const s = quotaName(q); return s.charAt(0).toLocaleUpperCase(language()) + s.slice(1); };
const amount = (u, v) => (v === null || v === undefined ? '—' : u.quota === 'P2' ? formatBytes(v) : formatNumber(v));

function infoPanel(acc, reload) {
  const sub = acc.subscriber || {};
  const fields = [
    { name: 'name', label: t('account.name'), required: true, maxlength: 200 },
    { name: 'alt_login_id', label: t('field.alt_login_id'), maxlength: 64, hidden: acc.effective_plan !== 'pro',
      help: t('account.alt_help') },
    { name: 'language', label: t('header.language'), type: 'select', options: LANGUAGES.map((l) => ({ value: l.code, label: l.name })) },
    { name: 'time_zone', label: t('account.time_zone'), type: 'select', wrap: true, options: zoneOptions(acc.time_zone),
      help: t('account.time_zone_help') },
    { name: 'company', label: t('account.company'), maxlength: 200 },
    { name: 'contact', label: t('account.contact'), maxlength: 200 },
    { name: 'email', label: t('field.email'), type: 'email', maxlength: 254 },
    { name: 'phone', label: t('account.phone'), maxlength: 40 },
    { name: 'address', label: t('field.address'), type: 'textarea', rows: 2, maxlength: 500 },
    { name: 'country', label: t('account.country'), maxlength: 64 },
  ];
  const f = buildForm(fields, {
    name: acc.name, alt_login_id: acc.alt_login_id || '', language: acc.language, time_zone: acc.time_zone,
    company: sub.company, contact: sub.name, email: sub.email, phone: sub.phone, address: sub.address, country: sub.country,
  }, {
    id: 'account-form',
    onSubmit: async (v) => {
      const body = { name: v.name, language: v.language, time_zone: v.time_zone,
        subscriber: { company: v.company, name: v.contact, email: v.email, phone: v.phone, address: v.address, country: v.country } };
      if (acc.effective_plan === 'pro') body.alt_login_id = v.alt_login_id || null;
      const r = await api.patch('/account', body);
      if (r.status === 200) { toast(t('common.saved'), 'ok'); reload(); }
      return r;
    },
  });
  return h('section', { class: 'panel' }, h('h2', { text: t('account.info') }),
    h('dl', { class: 'kv' }, h('dt', { text: t('signin.account') }), h('dd', { text: acc.login_id || t('account.no_login_id') })),
    f.form);
}

/**
 * How much of a limit is used, as a bar under its name (green, amber from
 * 80 %, red from 95 %), the share in words for the tooltip and screen
 * readers; null without a limit.
 */
function usageMeter(u) {
  if (typeof u.limit !== 'number' || u.limit <= 0 || typeof u.used !== 'number') return null;
  const share = Math.max(0, u.used / u.limit);
  const pct = (x) => formatNumber(x, { style: 'percent', maximumFractionDigits: 0 });
  const said = t('account.share', { share: share > 0 && share < 0.01 ? `< ${pct(0.01)}` : pct(share) });
  return h('meter', { class: 'usage-meter', min: 0, max: u.limit, value: Math.min(u.used, u.limit),
    low: 0.8 * u.limit, high: 0.95 * u.limit, optimum: 0, title: said, 'aria-label': `${rowName(u.quota)}: ${said}`,
    'data-testid': `usage-${u.quota}` });
}

function planPanel(acc) {
  const rows = [
    [t('account.plan'), h('strong', { 'data-testid': 'account-plan', text: planName(acc.plan) })],
    acc.effective_plan !== acc.plan ? [t('account.effective_plan'), planName(acc.effective_plan)] : null,
    acc.licence_expiry ? [t('account.licence_expiry'), formatDate(acc.licence_expiry)] : null,
    acc.licence_term_months ? [t('account.term'), t('account.months', { n: formatNumber(acc.licence_term_months) })] : null,
    acc.trial_expires_at ? [t('account.trial_expires'), formatDateTime(acc.trial_expires_at)] : null,
    acc.next_plan_change ? [t('account.next_change'), formatDate(acc.next_plan_change)] : null,
    [t('account.status'), t(`account.status_${acc.status || 'active'}`)],
  ].filter(Boolean);
  const usage = (acc.usage || []).map((u) => ({ ...u }));
  // S8, L3: over the storage quota, since when and the day of the deletion.
  const over = overQuotaText(acc);
  return h('section', { class: 'panel' }, h('h2', { text: t('account.plan_licence') }),
    over ? h('p', { class: 'notice error', role: 'alert', 'data-testid': 'storage-over-quota', text: over }) : null,
    h('dl', { class: 'kv' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)])),
    h('h3', { class: 'spaced', text: t('account.usage') }),
    table([
      { label: t('account.quota'), value: (u) => h('span', {}, rowName(u.quota), usageMeter(u)) },
      { label: t('account.used'), class: 'num', value: (u) => amount(u, u.used) },
      { label: t('account.limit'), class: 'num', value: (u) => amount(u, u.limit) },
    ], usage, { across: true }));
}

function changePanel(acc, reload) {
  if (acc.plan === 'trial') {
    const f = buildForm([
      { name: 'login_id', label: t('account.new_login_id'), required: true, maxlength: 32, pattern: '[a-z0-9][a-z0-9._\\-]{2,31}', help: t('account.login_id_help') },
      { name: 'plan', label: t('account.plan'), type: 'select', options: ['free', 'standard', 'pro'].map((p) => ({ value: p, label: planName(p) })) },
      { name: 'months', label: t('field.months'), type: 'select', options: monthOpts(), help: t('account.months_help') },
    ], { plan: 'free', months: 12 }, {
      id: 'upgrade-form', submitLabel: t('account.upgrade'),
      onSubmit: async (v) => {
        const body = { login_id: v.login_id, plan: v.plan };
        if (v.plan !== 'free') body.months = Number(v.months);
        const r = await api.post('/account/upgrade', body);
        if (r.status === 200) {
          await confirmDialog(t('account.upgraded', { account: v.login_id }), { danger: false, title: t('account.upgrade') });
          emit('signout', 'logged_out');
        }
        return r;
      },
    });
    return h('section', { class: 'panel' }, h('h2', { text: t('account.upgrade') }), h('p', { class: 'muted', text: t('account.upgrade_intro') }), f.form);
  }
  const out = h('p', { class: 'form-ok', role: 'status', hidden: true });
  // Nothing is preselected: the user names the plan to change to (the
  // account's own plan is not offered), and the term is asked only when a
  // paid plan starts from Free (P25).
  const f = buildForm([
    { name: 'plan', label: t('account.new_plan'), type: 'select', required: true,
      options: [{ value: '', label: t('account.choose_plan') },
        ...['free', 'standard', 'pro'].filter((p) => p !== acc.plan).map((p) => ({ value: p, label: planName(p) }))],
      help: t('account.plan_now', { plan: planName(acc.plan) }) },
    { name: 'months', label: t('field.months'), type: 'select', options: monthOpts(), help: t('account.months_help'),
      hidden: acc.plan !== 'free' },
  ], { plan: '', months: 12 }, {
    id: 'plan-form', submitLabel: t('account.change_plan'),
    onSubmit: async (v) => {
      if (!(await confirmDialog(t('account.change_confirm', { plan: planName(v.plan) }), { danger: false, confirm: t('account.change_plan') }))) return null;
      const body = { plan: v.plan };
      if (acc.plan === 'free' && v.plan !== 'free') body.months = Number(v.months);
      const r = await api.post('/account/plan', body);
      if (r.status === 200) {
        const c = r.body.conversion;
        toast(c ? t('account.converted', { days: formatNumber(c.days), expiry: formatDate(c.expiry), dropped: formatNumber(c.dropped || 0) }) : t('common.saved'), 'ok', 9000);
        reload();
      }
      return r;
    },
  });
  const q = buildForm([
    { name: 'plan', label: t('account.plan'), type: 'select', options: ['standard', 'pro'].map((p) => ({ value: p, label: planName(p) })) },
    { name: 'months', label: t('field.months'), type: 'select', options: monthOpts() },
    { name: 'note', label: t('account.note'), type: 'textarea', rows: 2, maxlength: 2000 },
  ], { months: 12 }, {
    id: 'quotation-form', submitLabel: t('account.request_quotation'),
    onSubmit: async (v) => {
      const r = await api.post('/account/quotation', { plan: v.plan, months: Number(v.months), note: v.note || undefined });
      if (r.status === 201) { out.textContent = t('account.quotation_sent'); out.hidden = false; }
      return r;
    },
  });
  return h('section', { class: 'panel' }, h('h2', { text: t('account.change_plan') }),
    h('p', { class: 'muted', text: t('account.change_intro') }), f.form,
    h('h3', { class: 'spaced', text: t('account.quotation') }), out, q.form);
}

function logoPanel(acc, reload) {
  const preview = acc.has_logo
    ? h('img', { class: 'logo-preview', src: `${apiUrl('/account/logo')}?v=${encodeURIComponent(acc.updated_at || '')}`, alt: t('header.account_logo') })
    : h('p', { class: 'muted', text: t('account.no_logo') });
  const pick = filePick({ id: 'logo-file', accept: 'image/png,image/jpeg,image/gif,image/webp' });
  const { input } = pick;
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'logo-error' });
  return h('section', { class: 'panel' }, h('h2', { text: t('account.logo') }),
    h('p', { class: 'muted', text: t('account.logo_help') }), preview, err,
    h('div', { class: 'field' }, h('label', { for: 'logo-file', text: t('account.logo_file') }), pick.box),
    h('div', { class: 'form-buttons' },
      acc.has_logo ? h('button', { type: 'button', class: 'danger', text: t('common.delete'), onclick: async () => {
        if (reportReply(await api.del('/account/logo'), t('common.deleted'))) { emit('logo'); reload(); }
      } }) : null,
      h('button', { type: 'button', class: 'primary', 'data-testid': 'logo-upload', text: t('account.upload'), onclick: async () => {
        const file = input.files && input.files[0];
        err.hidden = true;
        if (!file) { err.textContent = t('account.pick_file'); err.hidden = false; return; }
        const r = await api.upload('/account/logo', file, { method: 'PUT' });
        if (r.status === 200) { toast(t('common.saved'), 'ok'); emit('logo'); reload(); } else { err.textContent = errorMessage(r.body, r.status); err.hidden = false; }
      } })));
}

async function plansPanel(current) {
  const r = await api.get('/plans');
  if (r.status !== 200) return null;
  const plans = r.body.plans || [];
  const keys = (plans[0] ? plans[0].quotas : []).map((q) => q.quota);
  const cell = (q) => {
    if (!q) return '—';
    if (q.kind === 'feature') {
      if (!q.available || q.access === 'none') return '—';
      return q.access === 'view' ? t('account.view_only') : '✓';
    }
    if (q.kind === 'term') return (q.terms_months || []).length ? q.terms_months.map((m) => formatNumber(m)).join(' / ') : t('plan.term_free');
    if (!q.available || q.limit === null) return '—';
    return q.kind === 'bytes' ? formatBytes(q.limit) : formatNumber(q.limit);
  };
  return h('section', { class: 'panel' }, h('h2', { text: t('account.plans') }),
    table([
      { label: t('account.quota'), value: (k) => rowName(k) },
      ...plans.map((p) => ({ label: planName(p.name) + (p.name === current ? ` · ${t('account.current')}` : ''), class: 'num',
        value: (k) => cell(p.quotas.find((q) => q.quota === k)) })),
    ], keys, { across: true }));
}

registerPage('admin/account', {
  title: 'nav.admin_account',
  admin: true,
  async render(container) {
    const draw = async () => {
      const r = await sharedGet('/account');
      if (r.status !== 200) { fill(container, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
      const acc = r.body;
      setQuotaAccount(acc);
      fill(container, pageHead(t('nav.admin_account')),
        h('div', { class: 'grid-2' }, planPanel(acc), changePanel(acc, reload)),
        h('div', { class: 'grid-2' }, infoPanel(acc, reload), logoPanel(acc, reload)),
        await plansPanel(acc.plan));
    };
    // Tracked: the page's rendered mark waits for the redrawn page (router.mjs).
    const reload = () => track(draw);
    await draw();
  },
});
