// What the gateway apps share through the cloud (K1-K4; docs/app-share.md):
// battery profiles (K1) and battery thresholds (K2) of the account,
// photo-drawing templates (K3) of the current measurement group, equipment
// lists (K4). Everyone who may see them lists and downloads them; who may
// change them (administrators and members with file access edit; for the
// templates, edit access to the group) uploads, replaces and deletes files
// and creates, edits and deletes lists. Anyone else sees no button that
// changes them, but the reason in a sentence (as the console's view-only
// does). The server decides: a refusal is shown as its sentence.
import { registerPage } from '../router.mjs';
import { t, formatBytes, formatDateTime, formatNumber } from '../i18n.mjs';
import { api, apiUrl, errorMessage } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { table } from '../ui/table.mjs';
import { pageHead, reportReply } from '../ui/crud.mjs';
import { confirmDialog, showDialog } from '../ui/dialog.mjs';
import { formDialog } from '../ui/form.mjs';
import { isAdmin, on, session } from '../session.mjs';

/** The file kinds (K1, K2, K3): [route part, title key]. */
const FILE_KINDS = [
  ['battery-profiles', 'share.battery_profiles'],
  ['battery-thresholds', 'share.battery_thresholds'],
  ['photo-templates', 'share.photo_templates'],
];

const canChangeAccount = () => isAdmin() || !session.user || session.user.file_access === 'edit';

/** "Who" of a record: a user's or an app's name, or that it is gone. */
function author(by) {
  if (!by || (!by.user_id && !by.app_id)) return t('share.by_gone');
  return t(by.app_id ? 'share.by_app' : 'share.by_user', { name: by.name || '' });
}

/** Upload (or replace) a file of "kind" into "base" (the list's route). */
async function uploadDialog(base, kindTitle) {
  return formDialog({
    title: t('share.upload_title', { kind: kindTitle }),
    intro: t('share.upload_intro'),
    fields: [
      { name: 'file', label: t('share.file'), type: 'file', required: true },
      { name: 'name', label: t('common.name'), maxlength: 100, help: t('share.name_help') },
      { name: 'replace', label: t('share.replace'), type: 'checkbox' },
    ],
    submitLabel: t('share.upload'),
    submit: async (v) => {
      if (!v.file) return { status: 400, body: { code: 'missing', message: t('share.file_missing'), field: 'file' } };
      const name = (v.name || '').trim() || v.file.name;
      return api.upload(`${base}?name=${encodeURIComponent(name)}${v.replace ? '&replace=1' : ''}`, v.file,
        { contentType: 'application/octet-stream' });
    },
  });
}

/** Why one may only look (a muted sentence under the heading), or nothing. */
const whyViewOnly = (canChange, key, testid) => (canChange ? null
  : h('p', { class: 'muted', 'data-testid': testid, text: t(key) }));

/** One file kind's section: its table and, for who may, its upload button. */
function fileSection([kind, titleKey], { groupId, canChange }) {
  const box = h('section', { class: 'share-section', 'data-testid': `share-${kind}` });
  const title = t(titleKey);  // i18n-keys: share.battery_profiles, share.battery_thresholds, share.photo_templates
  const per = kind === 'photo-templates';
  const list = per ? `/groups/${groupId}/photo-templates` : `/app-share/${kind}`;
  const load = async () => {
    const r = await api.get(list);
    const head = h('div', { class: 'page-head' }, h('h2', { text: title }),
      canChange ? h('div', { class: 'page-tools' }, h('button', {
        type: 'button', class: 'small', 'data-testid': `share-upload-${kind}`, text: t('share.upload'),
        onclick: async () => { if (await uploadDialog(`${list}`, title)) { await load(); } },
      })) : null);
    if (r.status !== 200) {
      fill(box, head, h('p', { class: 'notice warn', text: errorMessage(r.body, r.status) }));
      return;
    }
    const why = per ? whyViewOnly(canChange, 'share.view_only_group', 'share-why-photo-templates') : null;
    fill(box, head, why, table([
      { label: t('common.name'), value: (f) => f.name },
      { label: t('share.size'), class: 'num', value: (f) => formatBytes(f.size) },
      { label: t('share.by'), value: (f) => author(f.uploaded_by) },
      { label: t('share.updated'), value: (f) => formatDateTime(f.updated_at) },
      { label: '', value: (f) => h('div', { class: 'row-actions' },
        h('a', { class: 'button small', href: apiUrl(`/app-share/${kind}/${f.id}/content`), download: f.name,
          'data-testid': 'share-download', text: t('share.download') }),
        canChange ? h('button', { type: 'button', class: 'small danger', 'data-testid': 'share-delete', text: t('common.delete'),
          onclick: async () => {
            if (!(await confirmDialog(t('share.delete_confirm', { name: f.name })))) return;
            if (reportReply(await api.del(`/app-share/${kind}/${f.id}`), t('common.deleted'))) await load();
          } }) : null) },
    ], r.body.items, { empty: t('share.none') }));
  };
  load();
  return box;
}

/**
 * Items <-> lines of "model; serial; note" (the note may be left out). A
 * backslash escapes: backslash-n is a line break of a note (apps may send
 * them), backslash-semicolon a semicolon of a model or a serial number, two
 * backslashes one, so that a list edited here keeps what it held.
 */
const esc = (s, semi) => String(s).replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
  .replace(/;/g, semi ? '\\;' : ';');
const itemsText = (items) => items.map((i) => [esc(i.model, true), esc(i.serial, true)]
  .concat(i.note ? [esc(i.note, false)] : []).join('; ')).join('\n');
function parseLine(line) {
  const parts = [''];
  for (let k = 0; k < line.length; k++) {
    const c = line[k];
    if (c === '\\' && k + 1 < line.length) {
      const n = line[++k];
      parts[parts.length - 1] += n === 'n' ? '\n' : n;
    } else if (c === ';' && parts.length < 3) {
      parts.push('');
    } else {
      parts[parts.length - 1] += c;
    }
  }
  const [model = '', serial = '', note = ''] = parts.map((x) => x.trim());
  return note ? { model, serial, note } : { model, serial };
}
const parseItems = (text) => text.split('\n').filter((l) => l.trim()).map(parseLine);

async function listDialog(list) {
  const fields = [
    { name: 'name', label: t('common.name'), required: true, maxlength: 100 },
    { name: 'items', label: t('share.items'), type: 'textarea', rows: 10, help: t('share.items_help') },
  ];
  return formDialog({
    title: list ? t('share.edit_list', { name: list.name }) : t('share.new_list'), wide: true, fields,
    values: list ? { name: list.name, items: itemsText(list.items) } : {},
    submitLabel: list ? t('common.save') : t('common.create'),
    submit: (v) => (list
      ? api.patch(`/app-share/equipment-lists/${list.id}`, { name: v.name, items: parseItems(v.items || '') })
      : api.post('/app-share/equipment-lists', { name: v.name, items: parseItems(v.items || '') })),
  });
}

function listsSection(canChange) {
  const box = h('section', { class: 'share-section', 'data-testid': 'share-equipment-lists' });
  const load = async () => {
    const r = await api.get('/app-share/equipment-lists');
    const head = h('div', { class: 'page-head' }, h('h2', { text: t('share.equipment_lists') }),
      canChange ? h('div', { class: 'page-tools' }, h('button', {
        type: 'button', class: 'small', 'data-testid': 'share-new-list', text: t('share.new_list'),
        onclick: async () => { if (await listDialog(null)) await load(); },
      })) : null);
    if (r.status !== 200) {
      fill(box, head, h('p', { class: 'notice warn', text: errorMessage(r.body, r.status) }));
      return;
    }
    const open = async (l, edit) => {
      const g = await api.get(`/app-share/equipment-lists/${l.id}`);
      if (!reportReply(g)) return;
      if (edit) {
        if (await listDialog(g.body)) await load();
        return;
      }
      await showDialog({
        title: g.body.name, wide: true,
        body: [table([
          { label: t('share.model'), value: (i) => i.model },
          { label: t('share.serial'), value: (i) => i.serial },
          { label: t('share.note'), class: 'prose', value: (i) => i.note },
        ], g.body.items, { empty: t('share.no_items') })],
        buttons: [{ label: t('common.close'), value: true, primary: true }],
      });
    };
    fill(box, head, table([
      { label: t('common.name'), value: (l) => l.name },
      { label: t('share.items'), class: 'num', value: (l) => formatNumber(l.item_count) },
      { label: t('share.by'), value: (l) => author(l.updated_by) },
      { label: t('share.updated'), value: (l) => formatDateTime(l.updated_at) },
      { label: '', value: (l) => h('div', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', 'data-testid': 'share-open-list', text: t('share.open'), onclick: () => open(l, false) }),
        canChange ? [
          h('button', { type: 'button', class: 'small', 'data-testid': 'share-edit-list', text: t('common.edit'), onclick: () => open(l, true) }),
          h('button', { type: 'button', class: 'small danger', text: t('common.delete'), onclick: async () => {
            if (!(await confirmDialog(t('share.delete_confirm', { name: l.name })))) return;
            if (reportReply(await api.del(`/app-share/equipment-lists/${l.id}`), t('common.deleted'))) await load();
          } }),
        ] : null) },
    ], r.body.items, { empty: t('share.none') }));
  };
  load();
  return box;
}

registerPage('share', {
  title: 'nav.share',
  render(container) {
    const draw = () => {
      const groupId = session.groupId;
      const canChange = canChangeAccount();
      const group = (session.groups || []).find((g) => g.id === groupId);
      // Templates: the group's grant decides (the session's groups carry the
      // member's own, my_access): a view grant sees them without the buttons.
      const canGroup = isAdmin() || !!(group && group.my_access === 'edit');
      fill(container,
        pageHead(t('nav.share')),
        h('p', { class: 'intro', text: t('share.intro') }),
        whyViewOnly(canChange, 'share.view_only_files', 'share-why-account'),
        fileSection(FILE_KINDS[0], { canChange }),
        fileSection(FILE_KINDS[1], { canChange }),
        groupId ? fileSection(FILE_KINDS[2], { groupId, canChange: canGroup })
          : h('section', { class: 'share-section' }, h('h2', { text: t('share.photo_templates') }),
            h('p', { class: 'empty', text: t('share.no_group') })),
        listsSection(canChange));
    };
    draw();
    const off = on('group', draw);
    return () => off();
  },
});
