// The drive (D1-D6; docs/drive.md): folders with breadcrumbs, the account's
// acquired-data sets beside the files, sorting by name, date, size or kind,
// new folder, rename, move, delete, uploads of several files with a progress
// bar each and cancel, download, the storage quota (P2), the last 10 viewed
// channels (D2), and HOK / HOK2 / HIOKI CSV files opened in the viewer: the
// file is downloaded and read by the WebAssembly core in the browser, as in
// the offline viewer (D5).
//
// Route: #/drive?folder=<id>&sort=name|date|size|kind&order=asc|desc&file=<id>
import { registerPage, navigate, track } from '../router.mjs';
import { t, language, formatNumber, formatDateTime, formatBytes, zoneOffset, shownZone, zoneLabel } from '../i18n.mjs';
import { api, errorMessage, request, quotaName, planName, apiUrl } from '../api.mjs';
import { isAdmin, session, plan } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { showDialog, confirmDialog } from '../ui/dialog.mjs';
import { toast } from '../ui/toast.mjs';
import { ensureStyles, createChart, MAX_CHANNELS as MAX_SERIES } from '../chart/chart.mjs';
import { channelHistory, channelLabel, MAX_CHANNELS } from './viewer_picker.mjs';
import { fileErrorText } from '../chart/fileerrors.mjs';
import { canCheck, checkFileDialog } from '../alarms/filecheck.mjs';
import { otherFileView } from '../reports/drivefile.mjs';
import { overQuotaText, setQuotaAccount } from '../quota_banner.mjs';
import { sharedGet } from '../shell_data.mjs';

const SORTS = ['name', 'date', 'size', 'kind'];
const PARALLEL_UPLOADS = 2;

const folderPath = (id) => (id ? `/drive/folders/${id}` : '/drive');

// ------------------------------------------------------------------ uploads
// Several files at once, PARALLEL_UPLOADS at a time, each with a progress
// bar and a cancel button (XMLHttpRequest upload progress through
// api.upload). The list lives at module level so that uploads go on, and
// stay visible, while the user moves between folders.
const up = { queue: [], running: 0, list: null, box: null, done: null };

function uploadsAttach(box, onDone) {
  up.box = box;
  up.done = onDone;
  if (box && up.list && up.list.children.length) {
    box.hidden = false;
    box.append(uploadsHead(), up.list);
  }
}

function uploadsHead() {
  return h('div', { class: 'dr-up-head' }, h('h2', { text: t('drive.uploads') }),
    h('button', { type: 'button', class: 'small', text: t('drive.clearUploads'), 'data-testid': 'upload-clear',
      onclick: () => {
        for (const li of [...up.list.children]) {
          if (['done', 'failed', 'cancelled'].includes(li.dataset.state)) li.remove();
        }
        if (!up.list.children.length && up.box) { up.box.hidden = true; fill(up.box); }
      } }));
}

function uploadsFinish(job, state, text) {
  job.row.dataset.state = state;
  job.status.textContent = text;
  job.cancel.hidden = true;
}

function uploadsAdd(files, folder) {
  if (!up.list) up.list = h('ul', { class: 'dr-up-list' });
  if (up.box && !up.box.contains(up.list)) {
    up.box.hidden = false;
    fill(up.box, uploadsHead(), up.list);
  }
  for (const file of files) {
    const ctrl = new AbortController();
    const bar = h('progress', { max: '1', value: '0', class: 'dr-progress' });
    const pct = h('span', { class: 'dr-pct', text: formatNumber(0, { style: 'percent' }) });
    const status = h('span', { class: 'dr-up-status', role: 'status' });
    const cancel = h('button', { type: 'button', class: 'small', 'data-testid': 'upload-cancel', text: t('chart.cancel'),
      onclick: () => ctrl.abort() });
    const row = h('li', { class: 'dr-up', 'data-name': file.name, 'data-state': 'queued' },
      h('span', { class: 'dr-up-name', text: file.name }), h('span', { class: 'dr-up-size', text: formatBytes(file.size) }),
      bar, pct, status, cancel);
    up.list.append(row);
    const job = { file, folder, ctrl, bar, pct, status, cancel, row };
    ctrl.signal.addEventListener('abort', () => {
      if (row.dataset.state === 'queued') uploadsFinish(job, 'cancelled', t('drive.upCancelled'));
    });
    up.queue.push(job);
  }
  uploadsPump();
}

function uploadsPump() {
  while (up.running < PARALLEL_UPLOADS && up.queue.length) {
    const job = up.queue.shift();
    if (job.row.dataset.state !== 'queued') continue;
    up.running++;
    job.row.dataset.state = 'running';
    const path = `/drive/files?name=${encodeURIComponent(job.file.name)}${job.folder ? `&folder_id=${job.folder}` : ''}`;
    api.upload(path, job.file, {
      signal: job.ctrl.signal,
      onProgress: (loaded, total) => {
        const p = total ? loaded / total : 0;
        job.bar.value = p;
        job.pct.textContent = formatNumber(p, { style: 'percent' });
      },
    }).then((r) => {
      if (r.status === 201) {
        job.bar.value = 1;
        job.pct.textContent = formatNumber(1, { style: 'percent' });
        uploadsFinish(job, 'done', t('drive.upDone'));
      } else if (r.body && r.body.code === 'aborted') uploadsFinish(job, 'cancelled', t('drive.upCancelled'));
      else uploadsFinish(job, 'failed', errorMessage(r.body, r.status));
    }).finally(() => {
      up.running--;
      if (up.done) up.done(job.folder);
      uploadsPump();
    });
  }
}

registerPage('drive', { title: 'drive.title', render });

async function render(container, params) {
  ensureStyles();
  const st = {
    folder: Number(params.folder) > 0 ? Number(params.folder) : null,
    sort: SORTS.includes(params.sort) ? params.sort : 'name',
    order: params.order === 'desc' ? 'desc' : 'asc',
  };
  const canEdit = isAdmin() || !session.user || session.user.file_access !== 'view';
  let listing = null;
  let account = null; // GET /account: the over-quota period (S8, L3)
  let alive = true;
  let fileView = null; // {chart, file} of an open file

  const go = (p) => navigate('drive', { folder: st.folder || undefined, sort: st.sort !== 'name' ? st.sort : undefined,
    order: st.order !== 'asc' ? st.order : undefined, ...p });

  // ---------------------------------------------------------------- layout
  const fileInput = h('input', { type: 'file', multiple: true, class: 'sr-only', id: 'drive-upload-input',
    'data-testid': 'drive-upload-input', tabindex: '-1', 'aria-label': t('drive.upload') });
  const uploadBtn = h('button', { type: 'button', class: 'primary', 'data-testid': 'drive-upload',
    text: t('drive.upload'), onclick: () => fileInput.click() });
  const folderBtn = h('button', { type: 'button', 'data-testid': 'drive-new-folder', text: t('drive.newFolder'),
    onclick: newFolder });
  // The offline viewer charts a file from this computer without uploading it (D5).
  const offlineLink = h('a', { class: 'button', href: 'offline.html', target: '_blank', rel: 'noopener',
    'data-testid': 'drive-offline', text: t('nav.offline') });
  const head = h('div', { class: 'page-head' }, h('h1', { text: t('drive.title') }),
    h('div', { class: 'page-tools' }, offlineLink, canEdit ? [folderBtn, uploadBtn, fileInput] : null));
  const quota = h('div', { class: 'dr-quota', 'data-testid': 'drive-quota' });
  const crumbs = h('nav', { class: 'dr-crumbs', 'aria-label': t('drive.breadcrumbs') });
  const sortBar = h('div', { class: 'dr-sort' });
  const upBox = h('section', { class: 'dr-uploads', 'aria-label': t('drive.uploads'), 'data-testid': 'drive-uploads', hidden: true });
  const listBox = h('div', { class: 'dr-list', 'data-testid': 'drive-list' });
  const viewBox = h('section', { class: 'panel dr-view', hidden: true, 'data-testid': 'drive-file-view' });
  const histBox = h('section', { class: 'panel dr-history', 'data-testid': 'drive-history' });
  const main = h('section', { class: 'panel dr-main' }, h('div', { class: 'dr-bar' }, crumbs, sortBar), upBox, listBox);
  fill(container, head, quota, viewBox, main, histBox);

  // ---------------------------------------------------------------- listing
  // Tracked: the page's rendered mark waits for the listing (router.mjs).
  function load() { return track(loadList); }
  async function loadList() {
    const [r, acc] = await Promise.all([api.get(`${folderPath(st.folder)}?sort=${st.sort}&order=${st.order}`),
      sharedGet('/account')]);
    if (!alive) return;
    if (acc.status === 200 && acc.body) { account = acc.body; setQuotaAccount(account); }
    if (r.status !== 200) {
      fill(listBox, h('p', { class: 'form-error', role: 'alert', text: errorMessage(r.body, r.status) }));
      return;
    }
    listing = r.body;
    renderQuota();
    renderCrumbs();
    renderSort();
    renderList();
  }

  function renderQuota() {
    const s = listing.storage;
    if (!s) { fill(quota); return; }
    const bar = h('progress', { max: String(s.limit || 1), value: String(Math.min(s.used, s.limit || s.used)), class: 'dr-meter' });
    // S8, L3: over the storage quota, since when and the day of the
    // deletion, as the account page says it.
    const over = overQuotaText(account);
    fill(quota, h('span', { text: t('drive.quota', { used: formatBytes(s.used), limit: formatBytes(s.limit),
      drive: formatBytes(s.drive_bytes) }) }), bar,
    over ? h('p', { class: 'notice error', role: 'alert', 'data-testid': 'drive-over-quota', text: over }) : null);
  }

  function renderCrumbs() {
    const path = listing.path || [];
    const parts = [h('a', { href: '#/drive', text: t('drive.root'), onclick: (e) => { e.preventDefault(); st.folder = null; go({ folder: undefined }); } })];
    path.forEach((p, i) => {
      parts.push(h('span', { class: 'dr-sep', 'aria-hidden': 'true', text: '/' }));
      parts.push(i === path.length - 1
        ? h('span', { 'aria-current': 'page', text: p.name })
        : h('a', { href: '#', text: p.name, onclick: (e) => { e.preventDefault(); go({ folder: p.id }); } }));
    });
    fill(crumbs, h('p', { class: 'dr-crumb-list', 'data-testid': 'drive-crumbs' }, parts));
  }

  function renderSort() {
    const sel = h('select', { 'aria-label': t('drive.sortBy'), 'data-testid': 'drive-sort',
      onchange: () => { st.sort = sel.value; go({ sort: st.sort }); } },
    SORTS.map((s) => h('option', { value: s, text: t(`drive.sort.${s}`), selected: s === st.sort })));
    const dir = h('button', { type: 'button', class: 'small', 'data-testid': 'drive-order',
      'aria-label': t(st.order === 'asc' ? 'drive.order.asc' : 'drive.order.desc'),
      text: t(st.order === 'asc' ? 'drive.order.asc' : 'drive.order.desc'),
      onclick: () => { st.order = st.order === 'asc' ? 'desc' : 'asc'; go({ order: st.order }); } });
    fill(sortBar, h('label', { class: 'dr-sort-label' }, h('span', { text: t('drive.sortBy') }), sel), dir);
  }

  const kindText = (it) => t(`drive.kind.${it.kind}`);

  function actionsFor(it) {
    const b = (key, fn, testid, cls) => h('button', { type: 'button', class: ['small', cls], text: t(key),
      'data-testid': testid, onclick: fn });
    const out = [];
    if (it.type === 'file' && it.viewable) out.push(b('drive.openViewer', () => go({ file: it.id }), 'drive-open'));
    if (it.type === 'file' && it.viewable && canEdit) out.push(b('drive.import', () => importFile(it), 'drive-import'));
    if (canCheck(it)) out.push(b('filecheck.action', () => checkFileDialog(it), 'drive-alarm-check'));
    if (it.type === 'file') {
      out.push(h('a', { class: 'button small', href: apiUrl(`/drive/files/${it.id}/content`), download: it.name,
        'data-testid': 'drive-download', text: t('drive.download') }));
    }
    if (it.type === 'dataset') {
      out.push(b('drive.dataset.view', () => openDataset(it, 'graph'), 'drive-dataset-view'));
      out.push(b('drive.dataset.export', () => openDataset(it, 'export'), 'drive-dataset-export'));
    }
    if (canEdit && it.type !== 'dataset') {
      out.push(b('drive.rename', () => rename(it), 'drive-rename'));
      out.push(b('drive.move', () => move(it), 'drive-move'));
      out.push(b('drive.delete', () => remove(it), 'drive-delete', 'danger'));
    }
    return h('div', { class: 'row-actions' }, out);
  }

  function nameCell(it) {
    const icon = h('span', { class: `dr-icon dr-icon-${it.type === 'file' ? it.kind : it.type}`, 'aria-hidden': 'true' });
    if (it.type === 'folder') {
      return h('a', { href: '#', class: 'dr-name', onclick: (e) => { e.preventDefault(); go({ folder: it.id }); } }, icon,
        h('span', { text: it.name }));
    }
    return h('span', { class: 'dr-name' }, icon, h('span', { text: it.name }));
  }

  function sizeText(it) {
    if (it.type === 'file') return formatBytes(it.size);
    if (it.type === 'folder') return t('drive.entries', { n: formatNumber(it.entries || 0) });
    return t('drive.channelsCount', { n: formatNumber(it.channels || 0) });
  }

  function renderList() {
    const items = listing.items || [];
    if (!items.length) {
      fill(listBox, h('p', { class: 'empty', text: t('drive.empty') }));
      return;
    }
    const head = (key, sort) => h('th', { scope: 'col', 'aria-sort': st.sort === sort ? (st.order === 'asc' ? 'ascending' : 'descending') : null },
      h('button', { type: 'button', class: 'dr-th', text: t(key), onclick: () => {
        if (st.sort === sort) st.order = st.order === 'asc' ? 'desc' : 'asc'; else { st.sort = sort; st.order = 'asc'; }
        go({ sort: st.sort, order: st.order });
      } }));
    fill(listBox, h('div', { class: 'table-wrap' }, h('table', { class: 'table dr-table', 'data-testid': 'drive-table' },
      h('thead', {}, h('tr', {}, head('drive.col.name', 'name'), head('drive.col.kind', 'kind'),
        head('drive.col.size', 'size'), head('drive.col.date', 'date'), h('th', { scope: 'col', class: 'actions', text: t('drive.col.actions') }))),
      h('tbody', {}, items.map((it) => h('tr', { 'data-type': it.type, 'data-id': String(it.id), 'data-name': it.name },
        h('td', { 'data-label': t('drive.col.name') }, nameCell(it)),
        h('td', { 'data-label': t('drive.col.kind'), text: kindText(it) }),
        h('td', { class: 'num', 'data-label': t('drive.col.size'), text: sizeText(it) }),
        h('td', { 'data-label': t('drive.col.date'), text: formatDateTime(it.updated_at) }),
        h('td', { class: 'actions', 'data-label': t('drive.col.actions') }, actionsFor(it))))))));
  }

  // ---------------------------------------------------------------- changes
  /**
   * Ask for a name and send it with submit(name) -> API reply. A refusal (a
   * name taken, a name not allowed) is shown in the open dialog, which keeps
   * what was typed; the dialog closes once the server has accepted it.
   * Resolves the accepted name, or null when cancelled.
   */
  async function askName(title, value, label, submit) {
    let input, err;
    let accepted = null;
    let sending = false;
    const send = async (close) => {
      if (sending) return;
      sending = true;
      const name = input.value;
      const r = await submit(name);
      sending = false;
      if (r.status >= 200 && r.status < 300) { accepted = name; close('ok'); return; }
      err.textContent = errorMessage(r.body, r.status);
      err.hidden = false;
      input.focus();
    };
    await showDialog({
      title,
      body: [err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'drive-name-error' }),
        h('div', { class: 'field' }, h('label', { for: 'drive-name-input', text: label }),
          input = h('input', { id: 'drive-name-input', value: value || '', maxlength: '255', 'data-testid': 'drive-name-input' }))],
      buttons: [{ label: t('chart.cancel'), value: null }, { label: t('drive.ok'), value: 'ok', primary: true, run: send }],
      onOpen(dlg, close) {
        input.focus();
        input.select();
        input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); send(close); } });
      },
    });
    return accepted;
  }

  async function newFolder() {
    const name = await askName(t('drive.newFolder'), '', t('drive.folderName'),
      (n) => api.post('/drive/folders', { name: n, parent_id: st.folder }));
    if (name === null) return;
    toast(t('drive.created', { name }), 'ok');
    load();
  }

  async function rename(it) {
    const name = await askName(t('drive.renameTitle', { name: it.name }), it.name, t('drive.newName'), (n) => {
      if (n === it.name) return Promise.resolve({ status: 200, body: {} });
      return it.type === 'folder' ? api.patch(`/drive/folders/${it.id}`, { name: n })
        : api.patch(`/drive/files/${it.id}`, { name: n });
    });
    if (name !== null && name !== it.name) load();
  }

  /** A dialog to browse folders and choose a target; resolves the folder id (null = root) or undefined. */
  function chooseFolder(it) {
    let target = st.folder;
    return showDialog({
      title: t('drive.moveTitle', { name: it.name }),
      wide: true,
      buttons: [{ label: t('chart.cancel'), value: undefined }, { label: t('drive.moveHere'), value: 'ok', primary: true }],
      onOpen(dlg) {
        const box = h('div', { class: 'dr-move', 'data-testid': 'drive-move-browser' });
        dlg.querySelector('.dialog-body').append(box);
        async function show(id) {
          target = id;
          const r = await api.get(`${folderPath(id)}?sort=name`);
          if (r.status !== 200) { fill(box, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
          const path = r.body.path || [];
          const folders = (r.body.items || []).filter((x) => x.type === 'folder' && !(it.type === 'folder' && x.id === it.id));
          fill(box,
            h('p', { class: 'dr-crumb-list' }, h('button', { type: 'button', class: 'link', text: t('drive.root'), onclick: () => show(null) }),
              path.map((p) => [h('span', { class: 'dr-sep', text: '/' }), h('button', { type: 'button', class: 'link', text: p.name, onclick: () => show(p.id) })])),
            folders.length ? h('ul', { class: 'dr-move-list' }, folders.map((f) => h('li', {},
              h('button', { type: 'button', class: 'small', 'data-folder': String(f.id), text: f.name, onclick: () => show(f.id) }))))
              : h('p', { class: 'muted', text: t('drive.noSubfolders') }));
        }
        show(st.folder);
      },
    }).then((v) => (v === 'ok' ? target : undefined));
  }

  async function move(it) {
    const target = await chooseFolder(it);
    if (target === undefined) return;
    const r = it.type === 'folder' ? await api.patch(`/drive/folders/${it.id}`, { parent_id: target })
      : await api.patch(`/drive/files/${it.id}`, { folder_id: target });
    if (r.status === 200) { toast(t('drive.moved', { name: it.name }), 'ok'); load(); } else toast(errorMessage(r.body, r.status), 'error', 8000);
  }

  async function remove(it) {
    if (!(await confirmDialog(t(it.type === 'folder' ? 'drive.deleteFolder' : 'drive.deleteFile', { name: it.name }),
      { confirm: t('drive.delete') }))) return;
    const url = it.type === 'folder' ? `/drive/folders/${it.id}` : `/drive/files/${it.id}`;
    let r = await api.del(url);
    if (r.status === 409 && r.body && r.body.code === 'folder_not_empty') {
      if (!(await confirmDialog(t('drive.deleteAll', { name: it.name }), { confirm: t('drive.deleteEverything') }))) return;
      r = await api.del(`${url}?recursive=1`);
    }
    if (r.status === 200) {
      toast(t('drive.deleted', { name: it.name, size: formatBytes(r.body.bytes_freed || 0) }), 'ok');
      load();
    } else toast(errorMessage(r.body, r.status), 'error', 8000);
  }

  // ---------------------------------------------------------------- uploads
  // (module-level: they go on while the user browses other folders)
  const addUploads = (files) => { if (canEdit) uploadsAdd(files, st.folder); };
  uploadsAttach(upBox, (folder) => { if (alive && folder === st.folder) load(); });

  fileInput.addEventListener('change', () => {
    addUploads([...fileInput.files]);
    fileInput.value = '';
  });
  const onDragOver = (e) => { if (canEdit && e.dataTransfer && [...e.dataTransfer.types].includes('Files')) { e.preventDefault(); main.classList.add('dr-dragging'); } };
  const onDragLeave = (e) => { if (e.target === main) main.classList.remove('dr-dragging'); };
  const onDrop = (e) => {
    if (!canEdit || !e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    main.classList.remove('dr-dragging');
    addUploads([...e.dataTransfer.files]);
  };
  main.addEventListener('dragover', onDragOver);
  main.addEventListener('dragleave', onDragLeave);
  main.addEventListener('drop', onDrop);

  // ---------------------------------------------------------------- data sets and history
  async function openDataset(ds, mode) {
    const r = await api.get(`/groups/${ds.id}/monitor`);
    if (r.status !== 200) { toast(errorMessage(r.body, r.status), 'error'); return; }
    const ids = [];
    for (const app of r.body.apps || []) for (const dev of app.devices || []) for (const c of dev.channels || []) if (c.selected) ids.push(c.id);
    for (const c of r.body.computed || []) ids.push(c.id);
    if (!ids.length) { toast(t('drive.dataset.none'), 'info'); return; }
    navigate('viewer', { channels: ids, mode }); // the viewer names any beyond its 32
  }

  async function renderHistory() {
    const hist = await channelHistory();
    if (!alive) return;
    fill(histBox, h('div', { class: 'panel-head' }, h('h2', { text: t('drive.history') }),
      hist.length ? h('button', { type: 'button', class: 'small', text: t('drive.historyOpenAll'),
        onclick: () => navigate('viewer', { channels: hist.map((c) => c.id) }) }) : null),
    hist.length ? h('ol', { class: 'dr-hist' }, hist.map((c) => h('li', {},
      h('a', { href: `#/viewer?channels=${c.id}`, text: channelLabel({ name: c.name || c.key, unit: c.unit }) }),
      h('span', { class: 'muted small-text', text: formatDateTime(c.viewed_at) }))))
      : h('p', { class: 'empty', text: t('drive.historyEmpty') }));
  }

  // ---------------------------------------------------------------- import as acquired data (D4, P24)
  /**
   * Map the file's channels onto measured channels the user can see and
   * import them (POST .../import, Pro). The mappings go a few channels per
   * request, so the progress bar shows how many are stored; cancelling stops
   * after the request under way (what is stored stays: importing the same
   * file again replaces those samples, docs/drive.md).
   */
  async function importFile(it) {
    await showDialog({
      title: t('drive.importTitle', { name: it.name }),
      wide: true,
      onOpen(dlg, close) {
        const body = dlg.querySelector('.dialog-body');
        const status = h('p', { class: 'muted', role: 'status', 'data-testid': 'import-status', text: t('drive.view.loading') });
        body.append(status);
        prepareImport(it, body, status, close);
      },
    });
    load();
  }

  async function prepareImport(it, body, status, close) {
    const isCsv = it.kind === 'hioki_csv';
    const offset = isCsv ? zoneOffset(shownZone(), Date.now()) : 0;
    const [fr, ...groups] = await Promise.all([
      api.get(`/drive/files/${it.id}/channels${isCsv ? `?utc_offset_minutes=${offset}` : ''}`),
      ...session.groups.map((g) => api.get(`/groups/${g.id}/monitor`).then((r) => ({ g, r }))),
    ]);
    if (fr.status !== 200) { status.textContent = errorMessage(fr.body, fr.status); return; }
    const targets = [];
    for (const { g, r } of groups) {
      if (r.status !== 200) continue;
      for (const a of r.body.apps || []) for (const d of a.devices || []) for (const c of d.channels || []) {
        targets.push({ id: c.id, name: c.name, unit: c.unit, label: `${c.name}${c.unit ? ` [${c.unit}]` : ''} — ${g.name} · ${d.name || d.model}` });
      }
    }
    const file = fr.body;
    const pro = plan() === 'pro';
    const norm = (x) => String(x || '').trim().toLowerCase();
    const rows = file.channels.map((c) => {
      // A measured channel of the same name and unit is chosen already.
      const match = targets.find((x) => norm(x.name) === norm(c.name) && norm(x.unit) === norm(c.unit));
      const sel = h('select', { 'data-testid': `import-target-${c.index}`, 'aria-label': t('drive.importInto', { name: c.name }) },
        h('option', { value: '', text: t('drive.importSkip') }),
        targets.map((x) => h('option', { value: String(x.id), text: x.label, selected: match && match.id === x.id })));
      return { c, sel };
    });
    const bar = h('progress', { max: '1', value: '0', class: 'vw-progress', 'data-testid': 'import-progress' });
    const pct = h('span', { class: 'vw-pct', 'data-testid': 'import-percent' });
    const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'import-error' });
    const start = h('button', { type: 'button', class: 'primary', 'data-testid': 'import-start', text: t('drive.importStart'), disabled: !pro });
    const stop = h('button', { type: 'button', class: 'small', 'data-testid': 'import-cancel', text: t('chart.cancel'), hidden: true });
    const closeBtn = h('button', { type: 'button', 'data-testid': 'import-close', text: t('common.close'), onclick: () => close(null) });
    status.textContent = t('drive.importFacts', { rows: formatNumber(file.rows || 0), channels: formatNumber(file.channels.length),
      from: formatDateTime(file.first), to: formatDateTime(file.last) });
    fill(body, status,
      pro ? h('p', { class: 'muted', text: t('drive.importIntro') })
        : h('p', { class: 'notice', 'data-testid': 'import-plan', text: t('error.plan_limit_unavailable', { quota: quotaName('P24'), plan: planName(plan()) }) }),
      isCsv ? h('p', { class: 'help', text: t('drive.importClock', { zone: zoneLabel(shownZone()) }) }) : null,
      targets.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'data-testid': 'import-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('drive.importFrom') }), h('th', { scope: 'col', text: t('drive.importTo') }))),
        h('tbody', {}, rows.map(({ c, sel }) => h('tr', {},
          h('td', { 'data-label': t('drive.importFrom') }, h('div', { class: 'cell-stack' }, h('strong', { text: c.name }),
            h('span', { class: 'muted small-text', text: t('drive.importSamples', { unit: c.unit || '—', n: formatNumber(c.samples || 0) }) }))),
          h('td', { class: 'control', 'data-label': t('drive.importTo') }, sel))))))
        : h('p', { class: 'notice warn', text: t('drive.importNoTargets') }),
      err,
      // The progress, its sentence and the buttons in one foot that stays in view (app.css).
      h('div', { class: 'dialog-foot' },
        h('div', { class: 'vw-progress-row', hidden: true, 'data-testid': 'import-progress-row' }, bar, pct, stop),
        h('div', { class: 'form-buttons' }, closeBtn, start)));
    let cancelled = false;
    stop.addEventListener('click', () => { cancelled = true; stop.disabled = true; });
    start.addEventListener('click', async () => {
      err.hidden = true;
      const maps = rows.filter((x) => x.sel.value).map((x) => ({ index: x.c.index, channel_id: Number(x.sel.value) }));
      if (!maps.length) { err.textContent = t('drive.importNone'); err.hidden = false; return; }
      start.disabled = true;
      // The progress and its result beside the bar, where the buttons are (on a phone
      // the top of the dialog is scrolled away): the file's facts stay at the top.
      if (status.nextSibling !== bar.parentNode) {
        status.replaceWith(h('p', { class: 'muted', text: status.textContent }));
        bar.parentNode.before(status);
      }
      bar.parentNode.hidden = false;
      bar.parentNode.scrollIntoView({ block: 'nearest' });
      stop.hidden = false;
      stop.disabled = false;
      cancelled = false;
      for (const x of rows) x.sel.disabled = true;
      // At most 8 requests: the bar moves as the channels are stored.
      const per = Math.max(1, Math.ceil(maps.length / 8));
      let done = 0, samples = 0;
      const show = () => {
        bar.value = done / maps.length;
        pct.textContent = formatNumber(done / maps.length, { style: 'percent' });
        status.textContent = t('drive.importProgress', { done: formatNumber(done), total: formatNumber(maps.length), samples: formatNumber(samples) });
      };
      show();
      for (let i = 0; i < maps.length; i += per) {
        if (cancelled) break;
        const chunk = maps.slice(i, i + per);
        const r = await api.post(`/drive/files/${it.id}/import`, isCsv ? { channels: chunk, utc_offset_minutes: offset } : { channels: chunk });
        if (r.status !== 201) {
          err.textContent = errorMessage(r.body, r.status);
          err.hidden = false;
          break;
        }
        done += chunk.length;
        samples += r.body.samples || 0;
        show();
      }
      stop.hidden = true;
      for (const x of rows) x.sel.disabled = false;
      start.disabled = false;
      status.dataset.done = String(done);
      status.textContent = done === maps.length
        ? t('drive.importDone', { samples: formatNumber(samples), channels: formatNumber(done) })
        : t('drive.importStopped', { done: formatNumber(done), total: formatNumber(maps.length), samples: formatNumber(samples) });
    });
  }

  // ---------------------------------------------------------------- a file in the viewer (D3, D5)
  async function openFileView(id) {
    viewBox.hidden = false;
    const status = h('p', { class: 'muted', role: 'status', text: t('drive.view.loading') });
    const close = h('button', { type: 'button', class: 'small', 'data-testid': 'drive-view-close', text: t('drive.view.close'),
      onclick: () => go({ file: undefined }) });
    const title = h('h2', { text: '' });
    fill(viewBox, h('div', { class: 'panel-head' }, title, close), status);
    const rec = await api.get(`/drive/files/${id}`);
    if (!alive) return;
    if (rec.status !== 200) { status.textContent = errorMessage(rec.body, rec.status); return; }
    title.textContent = rec.body.name;
    // A report's PDF, XLSX or CSV (the link of a report mail): what it is and its download.
    if (!rec.body.viewable) { status.replaceWith(otherFileView(rec.body)); return; }
    if (canCheck(rec.body)) {
      close.before(h('button', { type: 'button', class: 'small', 'data-testid': 'drive-view-alarm-check', text: t('filecheck.action'),
        onclick: () => checkFileDialog(rec.body) }));
    }
    const res = await request('GET', `/drive/files/${id}/content`, { raw: true });
    if (!alive) return;
    if (res.status !== 200) { status.textContent = errorMessage(res.body, res.status); return; }
    let blob = await res.response.blob();
    const { openFile } = await import('../chart/filesource.mjs');
    let file;
    try {
      file = await openFile(blob, { name: rec.body.name, utcOffsetMinutes: zoneOffset(shownZone(), Date.now()) });
    } catch (e) {
      status.textContent = fileErrorText(e, t, (n) => formatNumber(n));
      return;
    }
    blob = null;
    if (!alive) { file.close(); return; }
    status.textContent = t('drive.view.summary', { kind: t(`drive.kind.${rec.body.kind}`), rows: formatNumber(file.rows),
      channels: formatNumber(file.channels.length) });
    const host = h('div', { class: 'dr-chart', 'data-testid': 'drive-chart' });
    viewBox.append(host);
    const chart = createChart(host, { t, locale: language(), from: file.from, to: file.to, source: (q) => file.source(q) });
    chart.setLimits({ from: file.from, to: file.to });
    chart.setRange(file.from, file.to, { home: true, fetch: false });
    chart.setChannels(file.channels.slice(0, MAX_SERIES));
    fileView = { chart, file };
    viewBox.scrollIntoView({ block: 'start' });
  }

  load();
  track(renderHistory);
  if (Number(params.file) > 0) openFileView(Number(params.file));
  return () => {
    alive = false;
    uploadsAttach(null, null);
    if (fileView) { fileView.chart.destroy(); fileView.file.close(); }
  };
}
