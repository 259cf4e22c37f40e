// My settings (M1, A3, A5, A6): name, e-mail, language, time zone; password
// change; two-step verification (off / e-mail / authenticator app with a QR
// code enrolment); the user's sessions.
import { registerPage, track } from '../router.mjs';
import { t, LANGUAGES, setLanguage, language, formatDateTime, formatDate, ZONES, zoneLabel, zoneOffset, offsetLabel, setTimeZone } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { session, setUser } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { buildForm } from '../ui/form.mjs';
import { pageHead, reportReply } from '../ui/crud.mjs';
import { table } from '../ui/table.mjs';
import { parseUserAgent } from '../ui/user_agent.mjs';
import { toast } from '../ui/toast.mjs';
import { showDialog, confirmDialog } from '../ui/dialog.mjs';
import qrcode from '../../vendor/qrcode/qrcode.mjs';

/** A QR code of "text" as an <img> (a GIF data URL: no inline script or style). */
export function qrImage(text, alt) {
  const qr = qrcode(0, 'M');
  qr.addData(text);
  qr.make();
  return h('img', { src: qr.createDataURL(5, 4), alt, 'data-testid': 'totp-qr' });
}

/**
 * The time zones to choose from (I2): the specification's list by UTC
 * offset now, with the zone saved on the record first when it is another
 * one (set through the API).
 */
export function zoneOptions(saved) {
  const now = Date.now();
  const list = [...ZONES];
  if (saved && !list.includes(saved)) list.unshift(saved);
  return list.map((z) => ({ z, off: zoneOffset(z, now) }))
    .sort((a, b) => (a.z === saved && !ZONES.includes(saved) ? -1 : b.z === saved && !ZONES.includes(saved) ? 1 : a.off - b.off))
    .map(({ z }) => ({ value: z, label: zoneLabel(z) }));
}

function profilePanel(me) {
  const device = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const f = buildForm([
    { name: 'name', label: t('me.name'), required: true, maxlength: 100 },
    { name: 'email', label: t('me.email'), type: 'email', maxlength: 254 },
    { name: 'language', label: t('header.language'), type: 'select',
      options: LANGUAGES.map((l) => ({ value: l.code, label: l.name })) },
    // The device's zone by its offset only in the list (its long name, such
    // as "Australian Central Western Standard Time", would be cut in the
    // field on a PC), by its name in the help under it, which wraps.
    // The chosen zone in full, wrapping (wrap: a long name on a phone,
    // "Nordamerikanische Westküsten-Normalzeit (UTC−08:00)" at 360 px, was cut).
    { name: 'time_zone', label: t('me.time_zone'), type: 'select', wrap: true, help: t('me.time_zone_help', { zone: zoneLabel(device) }),
      options: [{ value: '', label: t('me.time_zone_device', { offset: offsetLabel(device) }) }, ...zoneOptions(me.time_zone)] },
  ], { ...me, email: me.email || '', language: me.language || language(), time_zone: me.time_zone || '' }, {
    id: 'profile-form',
    onSubmit: async (v) => {
      const r = await api.patch('/me', { name: v.name, email: v.email || null, language: v.language, time_zone: v.time_zone || null });
      if (r.status === 200) {
        toast(t('common.saved'), 'ok');
        setUser({ ...session.user, ...r.body });
        if (v.language !== language()) await setLanguage(v.language);
        setTimeZone(r.body.time_zone || null);
      }
      return r;
    },
  });
  return h('section', { class: 'panel' }, h('h2', { text: t('me.profile') }),
    h('dl', { class: 'kv' }, h('dt', { text: t('me.login_id') }), h('dd', { text: me.login_id }),
      h('dt', { text: t('me.role') }), h('dd', { text: t(`role.${me.role}`) })), f.form);
}

function passwordPanel() {
  const f = buildForm([
    { name: 'current', label: t('me.current_password'), type: 'password', required: true, autocomplete: 'current-password' },
    { name: 'new', label: t('reset.new_password'), type: 'password', required: true, help: t('password.policy') },
  ], {}, {
    id: 'password-form', submitLabel: t('me.change_password'),
    onSubmit: async (v, form) => {
      const r = await api.post('/me/password', v);
      if (r.status === 200) { toast(t('me.password_changed'), 'ok'); form.form.reset(); }
      return r;
    },
  });
  return h('section', { class: 'panel' }, h('h2', { text: t('me.password') }), f.form);
}

/**
 * The set-up key as authenticator apps show it: groups of four characters,
 * each kept on one line (a line breaks only between groups), with a copy
 * button that copies the key without spaces.
 */
export function totpKey(secret) {
  const key = String(secret).replace(/\s+/g, '');
  const groups = key.match(/.{1,4}/g) || [];
  const shown = h('p', { class: 'secret totp-key', 'data-testid': 'totp-secret' });
  groups.forEach((g, i) => shown.append(...(i ? [' '] : []), h('span', { class: 'nobreak', text: g })));
  const copied = h('span', { class: 'muted small-text', role: 'status' });
  const copy = h('button', { type: 'button', class: 'small', 'data-testid': 'totp-secret-copy', text: t('common.copy'), onclick: async () => {
    try {
      await navigator.clipboard.writeText(key);
      copied.textContent = t('common.copied');
    } catch {
      copied.textContent = t('apps.copy_by_hand');
    }
  } });
  return [shown, h('div', { class: 'page-tools' }, copy, copied)];
}

async function enrolTotp(refresh) {
  const r = await api.post('/me/totp/enrol', {});
  if (!reportReply(r)) return;
  const { secret, otpauth_uri: uri } = r.body;
  await showDialog({
    title: t('totp.title'),
    onOpen(dlg, close) {
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const code = h('input', { id: 'totp-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, required: true });
      const form = h('form', { id: 'totp-form', class: 'form', novalidate: true },
        h('p', { text: t('totp.step1') }),
        h('div', { class: 'qr' }, qrImage(uri, t('totp.qr_alt'))),
        h('p', { class: 'small-text muted', text: t('totp.manual') }),
        ...totpKey(secret),
        h('p', { text: t('totp.step2') }), err,
        h('div', { class: 'field' }, h('label', { for: 'totp-code', text: t('twostep.code') }), code),
        h('div', { class: 'form-buttons' },
          h('button', { type: 'button', onclick: () => close(null), text: t('common.cancel') }),
          h('button', { type: 'submit', class: 'primary', text: t('totp.confirm') })));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const c = await api.post('/me/totp/confirm', { code: code.value.trim() });
        if (c.status === 200) {
          toast(t('totp.done'), 'ok');
          close(true);
          refresh();
        } else {
          err.textContent = c.body && c.body.code === 'invalid_code' ? t('twostep.wrong_code') : errorMessage(c.body, c.status);
          err.hidden = false;
        }
      });
      dlg.querySelector('.dialog-body').append(form);
      code.focus();
    },
  });
}

function twoStepPanel(me, refresh) {
  const mode = me.two_step || 'off';
  const setMode = async (m) => {
    const r = await api.put('/me/two-step', { mode: m });
    if (reportReply(r, t('common.saved'))) refresh();
  };
  return h('section', { class: 'panel', id: 'two-step-panel' },
    h('h2', { text: t('me.two_step') }),
    h('p', {}, t('me.two_step_now'), ' ', h('strong', { 'data-testid': 'two-step-mode', text: t(`two_step.${mode}`) })),
    h('p', { class: 'muted small-text', text: t('me.two_step_help') }),
    h('div', { class: 'page-tools' },
      mode !== 'off' ? h('button', { type: 'button', onclick: () => setMode('off'), text: t('me.two_step_off') }) : null,
      mode !== 'email' ? h('button', { type: 'button', onclick: () => setMode('email'), text: t('me.two_step_email') }) : null,
      h('button', { type: 'button', 'data-testid': 'totp-enrol', class: mode === 'totp' ? '' : 'primary',
        onclick: () => enrolTotp(refresh), text: t(mode === 'totp' ? 'me.two_step_totp_again' : 'me.two_step_totp') })));
}

/**
 * A session's browser as a person names it ("Chrome 131 on Windows"), the
 * header itself in the tooltip; null (a dash) when the session sent none.
 */
function browserCell(ua) {
  if (!ua) return null;
  const { browser, version, os } = parseUserAgent(ua);
  const name = browser ? `${browser} ${version}`.trim() : t('me.session_browser_unknown');
  return h('span', { title: String(ua).slice(0, 512), 'data-testid': 'session-browser',
    text: os ? t('me.session_browser_on', { browser: name, os }) : name });
}

async function sessionsPanel() {
  const box = h('section', { class: 'panel' });
  // Tracked: the page's rendered mark waits for the list (router.mjs).
  const load = () => track(async () => {
    const r = await api.get('/me/sessions');
    if (r.status !== 200) { fill(box, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
    fill(box, h('div', { class: 'panel-head' }, h('h2', { text: t('me.sessions') }),
      h('button', { type: 'button', class: 'small', text: t('me.end_others'), onclick: async () => {
        if (reportReply(await api.del('/me/sessions'), t('me.ended'))) load();
      } })),
    table([
      { label: t('me.session_started'), value: (s) => formatDateTime(s.created_at) },
      { label: t('me.session_seen'), value: (s) => formatDateTime(s.last_seen_at) },
      { label: t('me.session_from'), value: (s) => s.ip },
      { label: t('me.session_browser'), value: (s) => browserCell(s.user_agent) },
      { label: '', class: 'actions', value: (s) => (s.current ? h('span', { class: 'pill accent', text: t('me.this_session') })
        : h('button', { type: 'button', class: 'small', text: t('me.end'), onclick: async () => {
          if (reportReply(await api.del(`/me/sessions/${s.id}`), t('me.ended'))) load();
        } })) },
    ], r.body.items || []));
  });
  await load();
  return box;
}

/**
 * Ask for the password (and the second step's code when the user has one)
 * and get a Web API token (A2) with POST /auth/token, as an API client
 * would; the token is shown once. name: what the user called it.
 */
async function createToken(me, reload) {
  let token = null;
  await showDialog({
    title: t('tokens.new'),
    onOpen(dlg, close) {
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'token-error' });
      const name = h('input', { id: 'token-name', maxlength: 100, 'data-testid': 'token-name', placeholder: t('tokens.name_example') });
      const pw = h('input', { id: 'token-password', type: 'password', autocomplete: 'current-password', 'data-testid': 'token-password' });
      const code = h('input', { id: 'token-code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, 'data-testid': 'token-code' });
      const codeField = h('div', { class: 'field', hidden: true }, h('label', { for: 'token-code', text: t('twostep.code') }), code);
      let challenge = null;
      const body = h('div', { class: 'form' },
        h('p', { class: 'muted', text: t('tokens.new_intro') }), err,
        h('div', { class: 'field' }, h('label', { for: 'token-name', text: t('tokens.name') }), name),
        h('div', { class: 'field' }, h('label', { for: 'token-password', text: t('me.current_password') }), pw), codeField);
      const done = (r) => {
        token = r.body;
        fill(dlg.querySelector('.dialog-body'),
          h('p', { class: 'notice warn', text: t('tokens.once') }),
          h('p', { class: 'secret', 'data-testid': 'token-secret', text: token.token }),
          h('p', { class: 'help', text: t('tokens.use', { expires: formatDate(token.expires * 1000) }) }));
        const btns = dlg.querySelector('.dialog-buttons');
        fill(btns, h('button', { type: 'button', class: 'primary', 'data-testid': 'token-done', text: t('apps.credential_stored'),
          onclick: () => close(true) }));
      };
      const go = async () => {
        err.hidden = true;
        let r;
        if (!challenge) {
          r = await api.post('/auth/token', { account: me.account.login_id, user: me.login_id, password: pw.value }, { quiet401: true });
        } else {
          r = await api.post('/auth/two-step', { challenge, code: code.value.trim() }, { quiet401: true });
        }
        if (r.status === 200 && r.body.challenge) {
          challenge = r.body.challenge;
          codeField.hidden = false;
          pw.disabled = true;
          code.focus();
          err.textContent = t(r.body.two_step === 'email' ? 'twostep.email_intro' : 'twostep.totp_intro');
          err.className = 'notice';
          err.hidden = false;
          return;
        }
        if (r.status === 200 && r.body.token) {
          const nm = name.value.trim();
          if (nm && r.body.id) await api.patch(`/me/tokens/${r.body.id}`, { name: nm });
          done(r);
          return;
        }
        err.className = 'form-error';
        err.textContent = r.body && r.body.code === 'invalid_credentials' ? t('tokens.wrong_password')
          : r.body && r.body.code === 'throttled' ? t('error.throttled', { retry_after: r.body.retry_after })
            : errorMessage(r.body, r.status);
        err.hidden = false;
      };
      dlg.querySelector('.dialog-body').append(body);
      const btns = h('div', { class: 'dialog-buttons' },
        h('button', { type: 'button', onclick: () => close(null), text: t('common.cancel') }),
        h('button', { type: 'button', class: 'primary', 'data-testid': 'token-create', text: t('tokens.create'), onclick: go }));
      dlg.append(btns);
      name.focus();
    },
  });
  if (token) reload();
}

async function tokensPanel(me) {
  const box = h('section', { class: 'panel', id: 'tokens-panel', 'data-testid': 'tokens-panel' });
  const load = () => track(async () => {
    const r = await api.get('/me/tokens');
    const head = h('div', { class: 'panel-head' }, h('h2', { text: t('tokens.title') }),
      r.status === 200 ? h('button', { type: 'button', class: 'small primary', 'data-testid': 'token-new', text: t('tokens.new'),
        onclick: () => createToken(me, load) }) : null);
    if (r.status !== 200) {
      fill(box, head, h('p', { class: 'muted', 'data-testid': 'tokens-refused', text: errorMessage(r.body, r.status) }));
      return;
    }
    fill(box, head, h('p', { class: 'muted', text: t('tokens.intro') }),
      table([
        { label: t('tokens.name'), value: (k) => k.name || t('tokens.unnamed') },
        { label: t('tokens.created'), value: (k) => formatDateTime(k.created_at) },
        { label: t('tokens.last_used'), value: (k) => (k.last_used_at ? formatDateTime(k.last_used_at) : t('common.never')) },
        { label: t('tokens.expires'), value: (k) => formatDate(k.expires_at) },
        { label: '', class: 'actions', value: (k) => h('button', { type: 'button', class: 'small danger', 'data-testid': 'token-revoke',
          text: t('tokens.revoke'), onclick: async () => {
            if (!(await confirmDialog(t('tokens.revoke_confirm', { name: k.name || t('tokens.unnamed') }), { confirm: t('tokens.revoke') }))) return;
            if (reportReply(await api.del(`/me/tokens/${k.id}`), t('tokens.revoked'))) load();
          } }) },
      ], r.body.items || [], { empty: t('tokens.none') }));
  });
  await load();
  return box;
}

registerPage('account', {
  title: 'nav.my_account',
  async render(container) {
    const draw = async () => {
      const r = await api.get('/me');
      if (r.status !== 200) { fill(container, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
      const me = r.body;
      fill(container, pageHead(t('nav.my_account')),
        h('div', { class: 'grid-2' }, profilePanel(me),
          h('div', {}, twoStepPanel(me, draw), passwordPanel())),
        await sessionsPanel(), await tokensPanel(me));
    };
    await draw();
  },
});
