// Sign-in (A1-A5): account ID (or the alternative login ID, which the server
// accepts in the same field) + user ID + password, or a trial's e-mail +
// password; the two-step step (TOTP or e-mailed code); the reset request;
// a new trial account. Messages for a session that ended (24 h idle) and
// after logout.
import { registerPage } from '../router.mjs';
import { t, LANGUAGES, language, setLanguage } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { asset } from '../config.mjs';
import { emit } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';

const REASONS = {
  expired: ['notice warn', 'signin.expired'],
  logged_out: ['notice', 'signin.logged_out'],
  reset_done: ['notice', 'signin.reset_done'],
  trial_created: ['notice', 'signin.trial_created'],
};

function langPicker() {
  return h('select', {
    class: 'auth-lang', id: 'signin-lang', 'aria-label': t('header.language'),
    onchange: (e) => setLanguage(e.target.value),
  }, LANGUAGES.map((l) => h('option', { value: l.code, text: l.name, lang: l.code, selected: l.code === language() })));
}

/** The page frame: logo, a card with a title, the language picker below. */
export function authFrame(container, title, ...content) {
  const card = h('section', { class: 'auth-card' },
    h('img', { class: 'auth-logo', src: asset('css/logo.svg'), alt: 'Metron' }),
    h('h1', { text: title }), content);
  fill(container, h('div', { class: 'auth' }, card, langPicker()));
  return card;
}

function field(id, label, attrs = {}) {
  return h('div', { class: 'field' }, h('label', { for: id, text: label }),
    h('input', { id, name: id, required: true, ...attrs }),
    attrs.help ? h('p', { class: 'help', text: attrs.help }) : null);
}

function errorText(r) {
  if (r.status === 0) return t('error.network');
  if (r.body && r.body.code === 'throttled') {
    return t('error.throttled', { retry_after: r.body.retry_after ?? r.headers.get('retry-after') ?? '' });
  }
  return errorMessage(r.body, r.status);
}

function render(container, params) {
  let mode = params.mode === 'email' ? 'email' : 'account';
  const errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const showError = (msg) => { errorBox.textContent = msg; errorBox.hidden = !msg; };
  const reason = REASONS[params.reason];

  const accountFields = h('div', { class: 'form-fields' },
    field('signin-account', t('signin.account'), { autocomplete: 'organization', autocapitalize: 'none', spellcheck: 'false' }),
    h('p', { class: 'help', text: t('signin.account_help') }),
    field('signin-user', t('signin.user'), { autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' }));
  const emailFields = h('div', { class: 'form-fields' },
    field('signin-email', t('signin.email'), { type: 'email', autocomplete: 'email' }));
  const modeBtn = (m, key) => h('button', {
    type: 'button', 'data-testid': `signin-mode-${m}`, 'aria-pressed': String(mode === m), text: t(key),
    onclick: () => { mode = m; sync(); },
  });
  const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': t('signin.how') },
    modeBtn('account', 'signin.mode_account'), modeBtn('email', 'signin.mode_email'));
  const form = h('form', { id: 'signin-form', class: 'form', novalidate: true },
    reason ? h('p', { class: reason[0], role: 'status', 'data-testid': 'signin-reason', text: t(reason[1]) }) : null,
    seg, errorBox, accountFields, emailFields,
    field('signin-password', t('signin.password'), { type: 'password', autocomplete: 'current-password' }),
    h('button', { type: 'submit', class: 'primary', text: t('signin.submit') }));
  function sync() {
    accountFields.hidden = mode !== 'account';
    emailFields.hidden = mode !== 'email';
    for (const b of seg.querySelectorAll('button')) {
      b.setAttribute('aria-pressed', String(b.dataset.testid === `signin-mode-${mode}`));
    }
    for (const i of accountFields.querySelectorAll('input')) i.required = mode === 'account';
    for (const i of emailFields.querySelectorAll('input')) i.required = mode === 'email';
  }
  sync();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError('');
    const v = (id) => form.querySelector(`#${id}`).value;
    const body = mode === 'email'
      ? { email: v('signin-email').trim(), password: v('signin-password') }
      : { account: v('signin-account').trim(), user: v('signin-user').trim(), password: v('signin-password') };
    if (Object.values(body).some((x) => !x)) { showError(t('signin.fill_all')); return; }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    const r = await api.post('/auth/login', body, { quiet401: true });
    btn.disabled = false;
    if (r.status === 200 && r.body && r.body.challenge) {
      twoStep(container, r.body, params.next);
    } else if (r.status === 200) {
      emit('signin', { ...r.body, next: params.next });
    } else {
      showError(errorText(r));
    }
  });

  authFrame(container, t('signin.title'), form,
    h('div', { class: 'auth-links' },
      h('a', { href: '#/signin?view=forgot', 'data-testid': 'forgot-link', text: t('signin.forgot') }),
      h('a', { href: '#/signin?view=trial', 'data-testid': 'trial-link', text: t('signin.start_trial') })));
  const first = form.querySelector(mode === 'email' ? '#signin-email' : '#signin-account');
  if (first) first.focus();
}

/** The second step: a 6-digit code from the authenticator app or the e-mail. */
function twoStep(container, challenge, next) {
  const kind = challenge.two_step === 'email' ? 'email' : 'totp';
  const errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { id: 'twostep-form', class: 'form', 'data-kind': kind, novalidate: true },
    h('p', { class: 'intro', text: t(kind === 'email' ? 'twostep.email_intro' : 'twostep.totp_intro') }),
    errorBox,
    field('twostep-code', t('twostep.code'), { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}' }),
    h('button', { type: 'submit', class: 'primary', text: t('twostep.submit') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = form.querySelector('#twostep-code').value.trim();
    if (!/^\d{6}$/.test(code)) { errorBox.textContent = t('twostep.six_digits'); errorBox.hidden = false; return; }
    const r = await api.post('/auth/two-step', { challenge: challenge.challenge, code }, { quiet401: true });
    if (r.status === 200 && r.body && r.body.csrf_token !== undefined) {
      emit('signin', { ...r.body, next });
    } else {
      errorBox.textContent = r.status === 401 && r.body && r.body.code === 'invalid_code'
        ? t('twostep.wrong_code') : errorText(r);
      errorBox.hidden = false;
    }
  });
  authFrame(container, t('twostep.title'), form,
    h('div', { class: 'auth-links' }, h('a', { href: '#/signin', text: t('twostep.back') })));
  form.querySelector('#twostep-code').focus();
}

/** A4: ask for a reset link (account + user, or a trial's e-mail). Always "sent". */
function forgot(container) {
  let mode = 'account';
  const errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const acc = h('div', {}, field('reset-account', t('signin.account')), field('reset-user', t('signin.user')));
  const mail = h('div', { hidden: true }, field('reset-email', t('signin.email'), { type: 'email' }));
  const seg = h('div', { class: 'segmented', role: 'group' },
    h('button', { type: 'button', 'aria-pressed': 'true', text: t('signin.mode_account'), onclick: (e) => setMode('account', e) }),
    h('button', { type: 'button', 'aria-pressed': 'false', 'data-testid': 'reset-mode-email', text: t('signin.mode_email'), onclick: (e) => setMode('email', e) }));
  function setMode(m, e) {
    mode = m;
    acc.hidden = m !== 'account';
    mail.hidden = m !== 'email';
    for (const b of seg.children) b.setAttribute('aria-pressed', String(b === e.currentTarget));
  }
  const form = h('form', { id: 'reset-request-form', class: 'form', novalidate: true },
    h('p', { class: 'intro', text: t('reset.request_intro') }), seg, errorBox, acc, mail,
    h('button', { type: 'submit', class: 'primary', text: t('reset.request_submit') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (id) => form.querySelector(`#${id}`).value.trim();
    const body = mode === 'email' ? { email: v('reset-email') } : { account: v('reset-account'), user: v('reset-user') };
    if (Object.values(body).some((x) => !x)) { errorBox.textContent = t('signin.fill_all'); errorBox.hidden = false; return; }
    const r = await api.post('/auth/reset-request', body, { quiet401: true });
    if (r.status === 202 || r.status === 200) {
      fill(form, h('p', { class: 'form-ok', role: 'status', 'data-testid': 'reset-sent', text: t('reset.request_sent') }));
    } else {
      errorBox.textContent = errorText(r);
      errorBox.hidden = false;
    }
  });
  authFrame(container, t('reset.request_title'), form,
    h('div', { class: 'auth-links' }, h('a', { href: '#/signin', text: t('twostep.back') })));
}

/** L4/L7: a new trial account (e-mail + password); then sign in by e-mail. */
function trial(container) {
  const errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { id: 'trial-form', class: 'form', novalidate: true },
    h('p', { class: 'intro', text: t('trial.intro') }), errorBox,
    field('trial-email', t('signin.email'), { type: 'email', autocomplete: 'email' }),
    field('trial-password', t('signin.password'), { type: 'password', autocomplete: 'new-password', help: t('password.policy') }),
    h('button', { type: 'submit', class: 'primary', text: t('trial.submit') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = form.querySelector('#trial-email').value.trim();
    const password = form.querySelector('#trial-password').value;
    const r = await api.post('/trial', { email, password }, { quiet401: true });
    if (r.status === 201) {
      const l = await api.post('/auth/login', { email, password }, { quiet401: true });
      if (l.status === 200 && !l.body.challenge) { emit('signin', l.body); return; }
      location.hash = '#/signin?mode=email&reason=trial_created';
    } else {
      errorBox.textContent = errorText(r);
      errorBox.hidden = false;
    }
  });
  authFrame(container, t('trial.title'), form,
    h('div', { class: 'auth-links' }, h('a', { href: '#/signin', text: t('twostep.back') })));
}

registerPage('signin', {
  title: 'signin.title',
  public: true,
  render(container, params) {
    if (params.view === 'forgot') return forgot(container);
    if (params.view === 'trial') return trial(container);
    return render(container, params);
  },
});
