// Short messages in the corner (aria-live): toast(text, 'ok' | 'error' | 'info').
import { h } from './dom.mjs';

export function toast(text, kind = 'ok', ms = 5000) {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite' });
    document.body.appendChild(box);
  }
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status',
    text });
  box.appendChild(el);
  setTimeout(() => el.remove(), ms);
  return el;
}
