// One generic list + form page for the administration areas:
//
//   crudPage(container, {
//     title, intro,
//     load: () => api.get('/users'), items: (body) => body.users,
//     columns: [{ label, value(row) }],
//     create: { label, fields: () => [...], submit: (values) => api.post(...), done(reply) },
//     edit:   { fields: (row) => [...], values: (row) => ({...}), submit: (row, values) => api.patch(...) },
//     remove: { confirm: (row) => text, submit: (row) => api.del(...) },
//     actions: [{ label, show(row)?, run: async (row, reload) => {} }],
//   });
//
// Refusals (plan_limit, name_taken, ...) stay in the open form as a sentence
// from errorMessage(); deletions and actions report them as toasts.
import { h, fill } from './dom.mjs';
import { table } from './table.mjs';
import { formDialog } from './form.mjs';
import { confirmDialog } from './dialog.mjs';
import { toast } from './toast.mjs';
import { t } from '../i18n.mjs';
import { errorMessage } from '../api.mjs';
import { track } from '../router.mjs';

export function pageHead(title, ...tools) {
  return h('div', { class: 'page-head' }, h('h1', { text: title }),
    tools.length ? h('div', { class: 'page-tools' }, tools) : null);
}

/** Show an API refusal as a toast; returns true when the reply was a success. */
export function reportReply(r, okText) {
  if (r.status >= 200 && r.status < 300) {
    if (okText) toast(okText, 'ok');
    return true;
  }
  toast(errorMessage(r.body, r.status), 'error', 8000);
  return false;
}

export function crudPage(container, spec) {
  const listBox = h('div', { class: 'crud-list' });
  const addBtn = spec.create ? h('button', {
    type: 'button', class: 'primary', 'data-testid': 'crud-add', text: spec.create.label,
    onclick: async () => {
      const r = await formDialog({
        title: spec.create.label, fields: await spec.create.fields(),
        values: spec.create.values ? spec.create.values() : {}, submit: spec.create.submit,
        submitLabel: spec.create.submitLabel || t('common.create'), intro: spec.create.intro,
      });
      if (r) {
        if (spec.create.done) await spec.create.done(r);
        else toast(t('common.created'), 'ok');
        await reload();
      }
    },
  }) : null;
  fill(container, pageHead(spec.title, ...(spec.tools || []), addBtn),
    spec.intro ? h('p', { class: 'intro', text: spec.intro }) : null,
    spec.above || null, listBox);

  const rowActions = (row) => {
    const btns = [];
    if (spec.edit && (!spec.edit.show || spec.edit.show(row))) {
      btns.push(h('button', {
        type: 'button', class: 'small', text: t('common.edit'),
        onclick: async () => {
          const r = await formDialog({
            title: spec.edit.title ? spec.edit.title(row) : t('common.edit'),
            fields: await spec.edit.fields(row), values: spec.edit.values(row),
            submit: (vals) => spec.edit.submit(row, vals),
          });
          if (r) { toast(t('common.saved'), 'ok'); await reload(); }
        },
      }));
    }
    for (const a of spec.actions || []) {
      if (a.show && !a.show(row)) continue;
      btns.push(h('button', {
        type: 'button', class: ['small', a.danger && 'danger'], text: typeof a.label === 'function' ? a.label(row) : a.label,
        onclick: async () => { await a.run(row, reload); },
      }));
    }
    if (spec.remove && (!spec.remove.show || spec.remove.show(row))) {
      btns.push(h('button', {
        type: 'button', class: 'small danger', text: t('common.delete'),
        onclick: async () => {
          if (!(await confirmDialog(spec.remove.confirm(row), { confirm: t('common.delete') }))) return;
          const r = await spec.remove.submit(row);
          if (reportReply(r, t('common.deleted'))) await reload();
        },
      }));
    }
    return h('div', { class: 'row-actions' }, btns);
  };

  // Tracked: the page's rendered mark waits for the list (router.mjs).
  function reload() { return track(load); }
  async function load() {
    const r = await spec.load();
    if (r.status !== 200) {
      fill(listBox, h('p', { class: 'form-error', role: 'alert', text: errorMessage(r.body, r.status) }));
      return;
    }
    const rows = spec.items(r.body);
    if (spec.loaded) await spec.loaded(r.body, rows);
    const cols = [...spec.columns];
    if (spec.edit || spec.remove || (spec.actions && spec.actions.length)) {
      cols.push({ label: t('common.actions'), class: 'actions', value: rowActions });
    }
    fill(listBox, table(cols, rows, { empty: spec.empty }));
  }
  const ready = reload();
  return { reload, ready };
}
