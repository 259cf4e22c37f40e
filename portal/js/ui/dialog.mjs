// Modal dialogs on the native <dialog> element (focus trap and Esc for free).
import { h } from './dom.mjs';
import { t } from '../i18n.mjs';

/**
 * Show a dialog with a title, a body (nodes) and buttons
 * [{label, value, primary?, danger?, run?}]. Resolves with the value of the
 * button pressed (null on Esc / close). A button with run(close) calls it
 * instead of closing: it closes the dialog itself when its work succeeded
 * (so a refusal can be shown in the open dialog, with what was typed).
 * "onOpen(dialog, close)" may wire the body; close(value) ends the dialog
 * from code (e.g. a form's submit).
 */
export function showDialog({ title, body = [], buttons = [], onOpen, wide = false }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: ['dialog', wide && 'dialog-wide'] });
    let done = false;
    const close = (value) => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(value);
    };
    const foot = h('div', { class: 'dialog-buttons' }, buttons.map((b) => h('button', {
      type: 'button', class: [b.primary && 'primary', b.danger && 'danger'],
      'data-value': String(b.value), text: b.label,
      onclick: async (e) => {
        if (!b.run) { close(b.value); return; }
        const btn = e.currentTarget;
        btn.disabled = true;
        try { await b.run(close); } finally { btn.disabled = false; }
      },
    })));
    dlg.append(
      h('div', { class: 'dialog-head' }, h('h2', { text: title }),
        h('button', { type: 'button', class: 'icon-btn dialog-x', 'aria-label': t('common.close'),
          onclick: () => close(null), text: '×' })),
      h('div', { class: 'dialog-body' }, body));
    if (buttons.length) dlg.append(foot);
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(null); });
    document.body.appendChild(dlg);
    dlg.showModal();
    if (onOpen) onOpen(dlg, close);
  });
}

/** A yes/no question; resolves true when confirmed. */
export async function confirmDialog(message, { confirm, danger = true, title } = {}) {
  const v = await showDialog({
    title: title || t('common.confirm_title'),
    body: [h('p', { text: message })],
    buttons: [
      { label: t('common.cancel'), value: false },
      { label: confirm || t('common.ok'), value: true, primary: !danger, danger },
    ],
  });
  return v === true;
}
