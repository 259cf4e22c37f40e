// Forms from a field list, so that pages describe fields instead of markup.
//
//   const f = buildForm([
//     { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
//     { name: 'role', label: t('me.role'), type: 'select',
//       options: [{ value: 'member', label: t('role.member') }, ...] },
//     { name: 'enabled', label: t('apps.enabled'), type: 'checkbox' },
//   ], { name: 'x' }, { submitLabel: t('common.save'), onSubmit: async (values) => {...} });
//   container.append(f.form);
//
// Types: text, password, email, number, select, checkbox, textarea, checks
// (several checkboxes: value is an array of option values), file. A field's
// `help` is a line under it; `hidden: true` leaves it out; `onChange(value,
// form)` runs when it changes (form.setOptions(name, options) refills a select).
// A select with `wrap: true` shows its chosen option in full, on as many
// lines as it needs (wrapSelect below: the time zones' long names).
// Dates and times: ui/datefield.mjs (dateField), in the portal's language.
import { h } from './dom.mjs';
import { t } from '../i18n.mjs';
import { errorMessage } from '../api.mjs';
import { filePick } from './file_pick.mjs';

let seq = 0;

function control(f, value, id) {
  const common = { id, name: f.name, required: !!f.required, disabled: !!f.disabled };
  switch (f.type) {
    case 'select':
      return h('select', common, (f.options || []).map((o) => h('option', {
        value: String(o.value), text: o.label, selected: String(o.value) === String(value ?? ''),
      })));
    case 'checkbox':
      return h('input', { ...common, type: 'checkbox', checked: !!value });
    case 'textarea':
      return h('textarea', { ...common, rows: f.rows || 4, maxlength: f.maxlength, text: value ?? '' });
    case 'checks': {
      const set = new Set((value || []).map(String));
      return h('div', { class: 'checks', id, role: 'group' }, (f.options || []).map((o) => h('label',
        { class: 'check' }, h('input', { type: 'checkbox', name: f.name, value: String(o.value),
          checked: set.has(String(o.value)) }), h('span', { text: o.label }))));
    }
    case 'file':
      // The browser's own button speaks the browser's language: ours, the page's
      // (its check for a missing file is the page's too, not the browser's bubble).
      return filePick({ id, name: f.name, disabled: !!f.disabled, accept: f.accept }).box;
    default:
      return h('input', {
        ...common, type: f.type || 'text', value: value ?? '', maxlength: f.maxlength,
        minlength: f.minlength, pattern: f.pattern, min: f.min, max: f.max, step: f.step,
        autocomplete: f.autocomplete || (f.type === 'password' ? 'new-password' : 'off'),
        placeholder: f.placeholder, inputmode: f.inputmode,
      });
  }
}

/**
 * The select "sel" in a box that shows its chosen option in full, wrapping
 * onto more lines when it is long: a closed <select> cuts its text at its
 * width ("Nordamerikanische Westküsten-No" on a phone, "Australian Central
 * Western Standard Ti" on a PC). The select itself lies over the box, not
 * painted but there: a click or a tap opens its own list, the keyboard
 * and screen readers use it as before (its label, its options); the box's
 * text is hidden from them. sel.refreshFace() after setting its value from
 * code. Returns the box.
 */
export function wrapSelect(sel) {
  const face = h('span', { class: 'select-face', 'aria-hidden': 'true', 'data-testid': sel.name ? `${sel.name}-shown` : undefined });
  const box = h('div', { class: 'select-wrap' }, face, sel);
  sel.refreshFace = () => {
    const o = sel.options[sel.selectedIndex];
    face.textContent = o ? o.textContent : '';
  };
  sel.addEventListener('change', sel.refreshFace);
  sel.addEventListener('input', sel.refreshFace);
  sel.refreshFace();
  return box;
}

/**
 * Build a <form>. Returns { form, values(), showError(body|string), clear() }.
 * onSubmit(values) may return an API reply {status, body}: a refusal is shown
 * in the form (its field marked); anything else is left to the caller.
 */
export function buildForm(fields, values = {}, { onSubmit, submitLabel, cancel, id, buttons = true } = {}) {
  const fid = id || `form${++seq}`;
  const errorBox = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const rows = [];
  const inputs = {};
  for (const f of fields) {
    if (f.hidden) continue;
    const cid = `${fid}-${f.name}`;
    const input = control(f, values[f.name], cid);
    inputs[f.name] = f.type === 'file' ? input.querySelector('input[type=file]') : input;
    const shown = f.type === 'select' && f.wrap ? wrapSelect(input) : input;
    if (f.type === 'checkbox') {
      rows.push(h('div', { class: 'field field-check', 'data-field': f.name },
        h('label', { for: cid }, input, h('span', { text: f.label })),
        f.help ? h('p', { class: 'help', text: f.help }) : null));
    } else {
      rows.push(h('div', { class: 'field', 'data-field': f.name },
        h('label', { for: cid, text: f.label }), shown,
        f.help ? h('p', { class: 'help', text: f.help }) : null));
    }
  }
  const submit = h('button', { type: 'submit', class: 'primary', text: submitLabel || t('common.save') });
  const form = h('form', { id: fid, class: 'form', novalidate: true }, errorBox, rows,
    buttons ? h('div', { class: 'form-buttons' },
      cancel ? h('button', { type: 'button', onclick: cancel, text: t('common.cancel') }) : null,
      submit) : null);

  form.addEventListener('reset', () => setTimeout(() => {
    for (const el of Object.values(inputs)) if (el.refreshFace) el.refreshFace();
  }));
  const api = {
    form, inputs, submit,
    /** Replace the options of a select field, keeping its value when it is still offered. */
    setOptions(name, options) {
      const el = inputs[name];
      const keep = el.value;
      el.replaceChildren(...options.map((o) => h('option', { value: String(o.value), text: o.label })));
      if (options.some((o) => String(o.value) === keep)) el.value = keep;
      if (el.refreshFace) el.refreshFace();
    },
    values() {
      const out = {};
      for (const f of fields) {
        if (f.hidden || f.disabled) continue;
        const el = inputs[f.name];
        if (f.type === 'checkbox') out[f.name] = el.checked;
        else if (f.type === 'checks') {
          out[f.name] = [...el.querySelectorAll('input:checked')].map((i) =>
            (f.numeric ? Number(i.value) : i.value));
        } else if (f.type === 'file') out[f.name] = el.files && el.files[0];
        else if (f.type === 'number') out[f.name] = el.value === '' ? null : Number(el.value);
        else out[f.name] = el.value;
      }
      return out;
    },
    clear() {
      errorBox.hidden = true;
      errorBox.textContent = '';
      form.querySelectorAll('.field.invalid').forEach((e) => e.classList.remove('invalid'));
    },
    showError(body, status) {
      api.clear();
      const field = body && body.field && form.querySelector(`.field[data-field="${CSS.escape(body.field)}"]`);
      const label = field && field.querySelector('label');
      errorBox.textContent = typeof body === 'string' ? body
        : errorMessage(body, status, { fieldLabel: label ? label.textContent : undefined });
      errorBox.hidden = false;
      if (field) field.classList.add('invalid');
    },
  };
  for (const f of fields) {
    if (f.onChange && inputs[f.name]) {
      inputs[f.name].addEventListener('change', () => f.onChange(api.values()[f.name], api));
    }
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!onSubmit) return;
    api.clear();
    // The browser's own checks first (required, pattern, type=email).
    const bad = [...form.elements].find((el) => el.willValidate && !el.checkValidity());
    if (bad) {
      const fieldEl = bad.closest('.field');
      if (fieldEl) fieldEl.classList.add('invalid');
      const label = fieldEl && fieldEl.querySelector('label');
      api.showError(t('form.invalid_field', { field: label ? label.textContent : bad.name }));
      bad.focus();
      return;
    }
    submit.disabled = true;
    try {
      const r = await onSubmit(api.values(), api);
      if (r && typeof r.status === 'number' && (r.status < 200 || r.status >= 300)) {
        api.showError(r.body, r.status);
      }
    } finally {
      submit.disabled = false;
    }
  });
  return api;
}

/**
 * A form in a dialog. submit(values) returns an API reply; a 2xx closes the
 * dialog and resolves with the reply, a refusal stays open with the message.
 * Resolves null when cancelled.
 */
export async function formDialog({ title, fields, values = {}, submitLabel, submit, intro, wide }) {
  const { showDialog } = await import('./dialog.mjs');
  let result = null;
  await showDialog({
    title, wide,
    body: [],
    onOpen(dlg, close) {
      const f = buildForm(fields, values, {
        submitLabel, cancel: () => close(null),
        onSubmit: async (vals) => {
          const r = await submit(vals);
          if (r && r.status >= 200 && r.status < 300) {
            result = r;
            close(r);
          }
          return r;
        },
      });
      const body = dlg.querySelector('.dialog-body');
      if (intro) body.append(h('p', { class: 'intro', text: intro }));
      body.append(f.form);
      const first = f.form.querySelector('input:not([type=hidden]),select,textarea');
      if (first) first.focus();
    },
  });
  return result;
}
