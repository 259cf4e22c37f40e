// Security (administrators): the account's IP allow-list (A7, Pro: P21).
// One address or network per line; each line is checked as it is typed; the
// server stores networks ("10.1.2.3/8" becomes "10.0.0.0/8") and refuses a
// list that would lock the administrator out. The address the server sees
// for this browser (the current session's) is shown and can be added.
import { registerPage } from '../../router.mjs';
import { t, formatNumber } from '../../i18n.mjs';
import { api, errorMessage } from '../../api.mjs';
import { h, fill } from '../../ui/dom.mjs';
import { pageHead } from '../../ui/crud.mjs';
import { toast } from '../../ui/toast.mjs';

const MAX_ENTRIES = 100;

/** Whether "s" is an IPv4 or IPv6 address with an optional /prefix (the server's rule). */
export function isNetwork(s) {
  const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(s);
  if (!m) return false;
  const [, addr, prefix] = m;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (v4) return v4.slice(1).every((x) => Number(x) <= 255) && (prefix === undefined || Number(prefix) <= 32);
  if (!/^[0-9a-fA-F:.]+$/.test(addr) || !addr.includes(':')) return false;
  try {
    // The URL parser knows IPv6 (also with an IPv4 tail).
    new URL(`http://[${addr}]/`);
  } catch { return false; }
  return prefix === undefined || Number(prefix) <= 128;
}

registerPage('admin/security', {
  title: 'nav.admin_security',
  admin: true,
  async render(container) {
    const box = h('section', { class: 'panel', 'data-testid': 'allow-list' });
    fill(container, pageHead(t('nav.admin_security')), box);
    const [r, s] = await Promise.all([api.get('/account/ip-allow-list'), api.get('/me/sessions')]);
    if (r.status !== 200) {
      fill(box, h('h2', { text: t('security.allow_title') }),
        h('p', { class: r.body && r.body.code === 'plan_limit' ? 'notice' : 'form-error', 'data-testid': 'allow-list-refused',
          text: errorMessage(r.body, r.status) }));
      return;
    }
    const cur = s.status === 200 ? (s.body.items || []).find((x) => x.current) : null;
    const mine = cur && cur.ip ? cur.ip : null;
    const text = h('textarea', { id: 'allow-list-text', rows: 8, 'data-testid': 'allow-list-text', spellcheck: 'false',
      text: (r.body.ip_allow_list || []).join('\n') });
    const check = h('ul', { class: 'line-check', 'data-testid': 'allow-list-check', 'aria-live': 'polite' });
    const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'allow-list-error' });
    const lines = () => text.value.split('\n').map((x) => x.trim()).filter(Boolean);
    const validate = () => {
      const ls = lines();
      const bad = ls.map((l, i) => [l, i]).filter(([l]) => !isNetwork(l));
      fill(check, bad.map(([l]) => h('li', { text: t('security.bad_line', { line: l }) })),
        ls.length > MAX_ENTRIES ? h('li', { text: t('security.too_many', { max: formatNumber(MAX_ENTRIES) }) }) : null);
      return !bad.length && ls.length <= MAX_ENTRIES;
    };
    text.addEventListener('input', validate);
    const state = h('p', { class: 'muted', 'data-testid': 'allow-list-state' });
    const showState = (list) => {
      state.textContent = list.length ? t('security.restricted', { n: formatNumber(list.length) }) : t('security.open');
    };
    showState(r.body.ip_allow_list || []);
    const save = h('button', { type: 'button', class: 'primary', 'data-testid': 'allow-list-save', text: t('common.save'),
      onclick: async () => {
        err.hidden = true;
        if (!validate()) { err.textContent = t('security.fix_lines'); err.hidden = false; return; }
        save.disabled = true;
        const res = await api.put('/account/ip-allow-list', { ip_allow_list: lines() });
        save.disabled = false;
        if (res.status === 200) {
          text.value = res.body.ip_allow_list.join('\n');
          showState(res.body.ip_allow_list);
          validate();
          toast(t('common.saved'), 'ok');
        } else {
          err.textContent = res.body && res.body.code === 'would_lock_out' && mine
            ? t('security.lock_out', { ip: mine }) : errorMessage(res.body, res.status, { fieldLabel: t('security.allow_title') });
          err.hidden = false;
        }
      } });
    fill(box, h('h2', { text: t('security.allow_title') }),
      h('p', { class: 'muted', text: t('security.allow_intro') }), state,
      mine ? h('p', {}, t('security.your_address', { ip: mine }), ' ',
        h('button', { type: 'button', class: 'small', 'data-testid': 'allow-list-add-mine', text: t('security.add_mine'),
          onclick: () => { if (!lines().includes(mine)) text.value = [...lines(), mine].join('\n'); validate(); } })) : null,
      err,
      h('div', { class: 'field' }, h('label', { for: 'allow-list-text', text: t('security.allow_label') }), text,
        h('p', { class: 'help', text: t('security.allow_help') })),
      check, h('div', { class: 'form-buttons' }, save));
  },
});
