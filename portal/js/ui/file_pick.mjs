// A file chooser in the portal's words. A plain <input type=file> draws its
// button and "no file chosen" in the browser's language ("Choose File No file
// chosen" on a German page in an English browser): the input stays (its label,
// its files, what tests set), out of sight, and a button and the chosen name
// are drawn beside it from the catalogue.
import { h } from './dom.mjs';
import { t } from '../i18n.mjs';

/**
 * A file chooser: returns { box, input, reset }. "attrs" go to the <input
 * type=file> (id, accept, multiple, data-testid, and aria-label when no <label
 * for> names it); the box holds it, a button that opens it and the chosen
 * file's name (or that none is chosen). reset() empties it.
 */
export function filePick(attrs = {}) {
  const input = h('input', { ...attrs, type: 'file', class: 'sr-only', tabindex: '-1' });
  const name = h('span', { class: 'file-pick-name muted', 'aria-live': 'polite', text: t('common.no_file') });
  const button = h('button', { type: 'button', class: 'small', text: t('common.choose_file'), onclick: () => input.click() });
  const show = () => {
    const files = [...(input.files || [])];
    name.textContent = files.length ? files.map((f) => f.name).join(', ') : t('common.no_file');
  };
  input.addEventListener('change', show);
  const box = h('span', { class: 'file-pick' }, button, name, input);
  return { box, input, reset: () => { input.value = ''; show(); } };
}
