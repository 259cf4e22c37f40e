// The reset page (A4): the e-mailed link is <origin>/#/reset?token=<token>
// (server/http_auth.c); a new password (A6) and its repetition.
import { registerPage, navigate } from '../router.mjs';
import { t } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h } from '../ui/dom.mjs';
import { authFrame } from './signin.mjs';

registerPage('reset', {
  title: 'reset.title',
  public: true,
  render(container, params) {
    const token = params.token || '';
    const errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const show = (msg) => { errorBox.textContent = msg; errorBox.hidden = false; };
    const pw = (id, label) => h('div', { class: 'field' }, h('label', { for: id, text: label }),
      h('input', { id, type: 'password', autocomplete: 'new-password', required: true }));
    const form = h('form', { id: 'reset-form', class: 'form', novalidate: true },
      h('p', { class: 'intro', text: t('password.policy') }), errorBox,
      pw('reset-password', t('reset.new_password')), pw('reset-password2', t('reset.repeat_password')),
      h('button', { type: 'submit', class: 'primary', text: t('reset.submit') }));
    if (!token) show(t('error.invalid_token'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const a = form.querySelector('#reset-password').value;
      const b = form.querySelector('#reset-password2').value;
      if (!a) { show(t('signin.fill_all')); return; }
      if (a !== b) { show(t('reset.mismatch')); return; }
      const r = await api.post('/auth/reset', { token, password: a }, { quiet401: true });
      if (r.status === 200) navigate('signin', { reason: 'reset_done' }, { replace: true });
      else show(errorMessage(r.body, r.status));
    });
    authFrame(container, t('reset.title'), form,
      h('div', { class: 'auth-links' }, h('a', { href: '#/signin', text: t('twostep.back') })));
  },
});
