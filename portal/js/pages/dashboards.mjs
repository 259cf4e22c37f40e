// Dashboards (B1-B3, M6, P9; docs/dashboards.md).
//
//   #/dashboards        the current group's dashboards: open, create,
//                       rename, copy, delete, within the plan's limit (P9)
//   #/dashboards/<id>   one dashboard: its panels on a 12-column grid,
//                       refreshed every minute with one request (B2), the
//                       panels computed in the browser by the WebAssembly
//                       core; "Arrange" moves and resizes panels by
//                       dragging, values on a picture are dragged to their
//                       place (B3); every panel with channels opens them
//                       in the viewer. Narrower than 640 px the panels stack.
import { registerPage, navigate, hrefFor, track } from '../router.mjs';
import { t, formatDateTime, formatTime, formatNumber } from '../i18n.mjs';
import { api, errorMessage, planName } from '../api.mjs';
import { session, on, plan } from '../session.mjs';
import { h, fill, icon } from '../ui/dom.mjs';
import { noGroupNotice } from '../ui/no_group.mjs';
import { pageHead } from '../ui/crud.mjs';
import { confirmDialog } from '../ui/dialog.mjs';
import { formDialog } from '../ui/form.mjs';
import { toast } from '../ui/toast.mjs';
import { ensureStyles } from '../chart/chart.mjs';
import { DashData } from '../dash/data.mjs';
import { core } from '../dash/core.mjs';
import { panelView, panelChannels, channelLabel } from '../dash/panels.mjs';
import { arrange, place, ordered, compact, STACK_PX } from '../dash/grid.mjs';
import { panelDialog, valueDialog } from '../dash/editor.mjs';

const REFRESH_MS = 60000; // B2: every minute
const PANEL_KEYS = ['id', 'kind', 'title', 'x', 'y', 'w', 'h', 'channels', 'window', 'picture_id', 'values'];

/** A panel with only the members the API takes. */
function clean(p) {
  const out = {};
  for (const k of PANEL_KEYS) if (p[k] !== undefined) out[k] = p[k];
  return out;
}

function groupName() {
  const g = session.groups.find((x) => x.id === session.groupId);
  return g ? g.name : '';
}

// ------------------------------------------------------------------ list

async function nameDialog(title, value, submitLabel, submit) {
  return formDialog({
    title, submitLabel, values: { name: value || '' },
    fields: [{ name: 'name', label: t('dash.name'), required: true, maxlength: 100 }],
    submit: (v) => submit(v.name.trim()),
  });
}

async function renderList(container) {
  const head = h('div');
  const body = h('div', { class: 'dash-list' });
  fill(container, head, body);

  // Tracked: the page's rendered mark waits for the list (router.mjs).
  function load() { return track(loadList); }
  async function loadList() {
    const gid = session.groupId;
    if (!gid) {
      fill(head, pageHead(t('dash.title')));
      fill(body, noGroupNotice(t('dash.no_group')));
      return;
    }
    const r = await api.get(`/groups/${gid}/dashboards`);
    if (r.status !== 200) {
      fill(body, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) }));
      return;
    }
    const { items, quota, can_edit: canEdit } = r.body;
    const full = items.length >= quota.limit;
    const create = async () => {
      const made = await nameDialog(t('dash.new'), '', t('dash.create'), (name) => api.post(`/groups/${gid}/dashboards`, { name }));
      if (made && made.status === 201) navigate(`dashboards/${made.body.id}`);
    };
    fill(head, pageHead(t('dash.title_group', { group: groupName() }),
      canEdit ? h('button', { type: 'button', class: 'primary', 'data-testid': 'dash-new', disabled: full,
        onclick: create }, t('dash.new')) : null));
    const quotaText = quota.limit === 0
      ? t('dash.quota_none', { plan: planName(plan()) })
      : t('dash.quota', { used: formatNumber(quota.used), limit: formatNumber(quota.limit), plan: planName(plan()) });
    const rows = items.map((d) => h('li', { class: 'dash-card', 'data-dashboard': String(d.id) },
      h('a', { class: 'dash-card-name', href: hrefFor(`dashboards/${d.id}`), text: d.name }),
      h('span', { class: 'muted small-text', text: t('dash.card_meta', { n: formatNumber(d.panel_count),
        when: formatDateTime(d.updated_at) }) }),
      canEdit ? h('div', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', text: t('dash.rename'), onclick: async () => {
          const x = await nameDialog(t('dash.rename'), d.name, t('common.save'), (name) => api.patch(`/dashboards/${d.id}`, { name }));
          if (x) load();
        } }),
        h('button', { type: 'button', class: 'small', disabled: full, 'data-testid': 'dash-copy', text: t('dash.copy'), onclick: async () => {
          const x = await nameDialog(t('dash.copy'), t('dash.copy_name', { name: d.name }), t('dash.copy'),
            (name) => api.post(`/dashboards/${d.id}/copy`, { name }));
          if (x) load();
        } }),
        h('button', { type: 'button', class: 'small danger', text: t('common.delete'), onclick: async () => {
          if (!await confirmDialog(t('dash.delete_confirm', { name: d.name }), { confirm: t('common.delete') })) return;
          const x = await api.del(`/dashboards/${d.id}`);
          if (x.status === 200) { toast(t('dash.deleted'), 'ok'); load(); } else toast(errorMessage(x.body, x.status), 'error');
        } })) : null));
    fill(body,
      h('p', { class: 'muted', 'data-testid': 'dash-quota', text: quotaText }),
      items.length ? h('ul', { class: 'dash-cards' }, rows)
        : h('div', { class: 'panel' }, h('p', { class: 'empty', text: canEdit && quota.limit > 0 ? t('dash.none_yet') : t('dash.none') })));
  }
  const off = on('group', load);
  await load();
  return () => off();
}

// ------------------------------------------------------------------ one dashboard

async function renderDashboard(container, id) {
  // The chart's style sheets (uPlot's, css/viewer.css) load beside the first
  // answer; the panels are first drawn once they are there: a sheet that
  // arrived after them resized the grid and moved what was drawn (a value's
  // place on a picture among it).
  const styles = ensureStyles();
  performance.mark('dash-start');
  // The WebAssembly core loads while the first answer is on its way.
  const corePromise = core();
  corePromise.catch(() => {}); // a failure is met where it is awaited
  const data = new DashData(id);
  const titleEl = h('h1', { text: '' });
  const status = h('p', { class: 'dash-status', role: 'status', 'data-testid': 'dash-status' });
  const grid = h('div', { class: 'dash-grid', 'data-testid': 'dash-grid' });
  const tools = h('div', { class: 'page-tools' });
  let editing = false;
  let timer = null;
  let stopped = false;
  let views = new Map(); // panel id -> {el, view, panel}
  let layout = []; // the panels as shown
  let c = null;
  let saving = Promise.resolve();
  let painted = false;
  let drawnWidth = -1; // the grid's width when the panels were last drawn
  let lastProblem = null;

  fill(container, h('div', { class: 'page-head' }, h('div', { class: 'dash-title' },
    h('a', { href: hrefFor('dashboards'), class: 'dash-back', text: t('dash.all') }), titleEl), tools), status, grid);

  const canEdit = () => !!(data.dashboard && data.dashboard.can_edit);

  function drawTools() {
    if (!canEdit()) { fill(tools, refreshButton()); return; }
    fill(tools,
      h('button', { type: 'button', class: ['small', editing && 'primary'], 'aria-pressed': String(editing), 'data-testid': 'dash-arrange',
        onclick: () => { editing = !editing; grid.classList.toggle('dash-editing', editing); drawTools(); rebuild(); } },
      editing ? t('dash.arrange_done') : t('dash.arrange')),
      h('button', { type: 'button', class: 'small', 'data-testid': 'dash-add', onclick: addPanel }, t('dash.add_panel')),
      refreshButton());
  }
  function refreshButton() {
    return h('button', { type: 'button', class: 'small', 'aria-label': t('common.refresh'), onclick: () => refresh(true) },
      icon('refresh'), t('common.refresh'));
  }

  function drawStatus() {
    const when = data.now ? formatTime(data.now, { seconds: true }) : '';
    fill(status,
      h('span', { text: t('dash.updated', { time: when }) }), h('span', { class: 'sep', 'aria-hidden': 'true', text: '·' }),
      h('span', { text: t('dash.every_minute') }),
      editing ? h('span', { class: 'dash-edit-hint', text: grid.classList.contains('dash-stacked')
        ? t('dash.arrange_phone') : t('dash.arrange_hint') }) : null,
      lastProblem ? h('span', { class: 'form-error dash-problem', text: lastProblem }) : null);
  }

  // ---- saving the layout (the whole panel list, with the version it started from)
  function save(panels) {
    saving = saving.then(async () => {
      const r = await api.patch(`/dashboards/${id}`, { panels: panels.map(clean), version: data.version });
      if (r.status === 200) {
        data.dashboard = r.body;
        data.version = r.body.version;
        return r;
      }
      if (r.body && r.body.code === 'version_conflict') toast(t('dash.changed_elsewhere'), 'error');
      else toast(errorMessage(r.body, r.status), 'error');
      // The server's dashboard as it is, whatever this page had made of it.
      data.version = 0;
      await refresh(true);
      return r;
    });
    return saving;
  }

  async function setPanels(panels) {
    data.dashboard = { ...data.dashboard, panels };
    layout = panels;
    rebuild();
    const r = await save(panels);
    return r;
  }

  async function addPanel() {
    await panelDialog({
      panel: null, groupId: data.dashboard.group_id,
      save: async (p) => {
        const r = await api.post(`/dashboards/${id}/panels`, { panel: p });
        if (r.status === 201) {
          data.dashboard = r.body;
          data.version = r.body.version;
          await refresh(true, true);
        }
        return r;
      },
    });
  }

  async function editPanel(panel) {
    await panelDialog({
      panel, groupId: data.dashboard.group_id,
      save: async (p) => {
        const panels = layout.map((q) => (q.id === panel.id ? { ...q, ...p } : q));
        const r = await api.patch(`/dashboards/${id}`, { panels: panels.map(clean), version: data.version });
        if (r.status === 200) {
          data.dashboard = r.body;
          data.version = r.body.version;
          await refresh(true, true);
        }
        return r;
      },
    });
  }

  async function removePanel(panel) {
    if (!await confirmDialog(t('dash.remove_confirm', { name: panelTitle(panel) }), { confirm: t('dash.remove') })) return;
    await setPanels(compact(layout.filter((q) => q.id !== panel.id)));
    refresh(true);
  }

  function panelTitle(p) {
    if (p.title) return p.title;
    const names = panelChannels(p).map((cid) => channelLabel(data.channel(cid))).filter(Boolean);
    return names.length ? names.slice(0, 3).join(', ') + (names.length > 3 ? ' …' : '') : t(`dash.kind.${p.kind}`);
  }

  function viewerLink(p) {
    const chans = p.kind === 'alarm' && data.alarmSummary
      ? [...new Set(data.alarmSummary.active.flatMap((ev) => (ev.channels || []).map((x) => x.id)))]
      : panelChannels(p).filter((cid) => data.channel(cid));
    if (!chans.length) return null;
    const w = data.windows && data.windows[p.window || 'day'];
    return h('a', { class: 'icon-btn dash-viewer', href: hrefFor('viewer', { channels: chans.slice(0, 32),
      from: w ? Math.floor(w.from) : undefined, to: w ? Math.ceil(w.to) : undefined }),
    title: t('dash.open_viewer'), 'aria-label': t('dash.open_viewer'), 'data-testid': 'panel-viewer' }, icon('chart'));
  }

  // ---- the panels
  function panelEl(p) {
    const body = h('div', { class: 'dash-panel-body' });
    const ctx = {
      data, core: c, editing: () => editing,
      onValues: (values) => setPanels(layout.map((q) => (q.id === p.id ? { ...q, values } : q))),
      openValue: async (i) => {
        const cur = layout.find((q) => q.id === p.id);
        const v = cur.values[i];
        const res = await valueDialog(v, data.channel(v.channel_id));
        if (!res) return;
        const values = res === 'remove' ? cur.values.filter((x, k) => k !== i) : cur.values.map((x, k) => (k === i ? res : x));
        setPanels(layout.map((q) => (q.id === p.id ? { ...q, values } : q)));
      },
    };
    const view = panelView(p, ctx);
    body.append(view.el);
    const el = h('section', { class: `dash-panel dash-k-${p.kind}`, 'data-panel': p.id, 'data-kind': p.kind,
      'aria-label': panelTitle(p) },
    h('header', { class: 'dash-panel-head' },
      editing ? h('span', { class: 'dash-handle', 'data-grid-handle': 'move', tabindex: '0', role: 'button',
        'aria-label': t('dash.move_panel'), title: t('dash.move_panel'), text: '⠿' }) : null,
      h('h2', { class: 'dash-panel-title', text: panelTitle(p) }),
      h('div', { class: 'dash-panel-tools' },
        p.kind !== 'picture' ? viewerLink(p) : null,
        editing ? h('button', { type: 'button', class: 'small', 'data-testid': 'panel-edit', onclick: () => editPanel(p), text: t('dash.edit') }) : null,
        editing ? h('button', { type: 'button', class: 'small danger', 'data-testid': 'panel-remove', onclick: () => removePanel(p), text: t('dash.remove') }) : null)),
    body,
    editing ? h('span', { class: 'dash-resize', 'data-grid-handle': 'resize', tabindex: '0', role: 'button',
      'aria-label': t('dash.resize_panel'), title: t('dash.resize_panel') }) : null);
    place(el, p);
    return { el, view, panel: p };
  }

  /** Build the panels again (layout or mode changed). */
  function rebuild() {
    for (const v of views.values()) v.view.destroy();
    views = new Map();
    layout = (data.dashboard && data.dashboard.panels) || [];
    const els = ordered(layout).map((p) => {
      const v = panelEl(p);
      views.set(p.id, v);
      return v.el;
    });
    fill(grid, els.length ? els : h('div', { class: 'panel dash-empty' }, h('p', { class: 'empty', text: canEdit() ? t('dash.empty_edit') : t('dash.empty') })));
    updateAll();
  }

  /** Compute and draw every panel from the data this page has. */
  function updateAll() {
    const t0 = performance.now();
    drawnWidth = grid.getBoundingClientRect().width;
    // Every panel's layout read first, then every panel drawn: reading a
    // size between two panels' DOM writes would force a layout each time.
    for (const v of views.values()) {
      try { if (v.view.measure) v.view.measure(); } catch (e) { console.warn('panel', v.panel.id, e); }
    }
    for (const v of views.values()) {
      try { v.view.update(); } catch (e) { console.warn('panel', v.panel.id, e); }
    }
    grid.dataset.updateMs = String(Math.round((performance.now() - t0) * 10) / 10);
    grid.dataset.updates = String((Number(grid.dataset.updates) || 0) + 1);
  }

  // ---- refresh
  /** One refresh; "relayout": build the panels again (the page changed the dashboard itself). */
  async function refresh(full = false, relayout = false) {
    clearTimeout(timer);
    try {
      const { layout: changed } = await data.refresh({ full });
      if (stopped) return;
      lastProblem = null;
      if (!c) c = await corePromise.catch(() => core());
      await data.previews();
      if (!painted) await styles;
      titleEl.textContent = data.dashboard.name;
      document.title = `${data.dashboard.name} · Metron`;
      if (changed || relayout || !views.size) { drawTools(); rebuild(); } else updateAll();
      if (!painted) {
        painted = true;
        performance.mark('dash-painted');
        grid.dataset.painted = 'true';
      }
    } catch (e) {
      if (stopped) return;
      if (e.status === 404) {
        fill(container, h('p', { class: 'empty', text: t('dash.gone') }), h('a', { href: hrefFor('dashboards'), text: t('dash.all') }));
        return;
      }
      lastProblem = e.status !== undefined ? errorMessage(e.body, e.status) : t('error.generic');
      if (!painted) console.warn('dashboard', e);
    }
    drawStatus();
    if (!stopped) timer = setTimeout(() => refresh(false), REFRESH_MS);
  }

  // ---- the grid: arranging, stacking on a phone, drawing again on resize
  const detach = arrange(grid, {
    panels: () => layout,
    editing: () => editing,
    preview: (l) => { for (const p of l) { const v = views.get(p.id); if (v) place(v.el, p); } },
    commit: (l) => {
      for (const p of l) { const v = views.get(p.id); if (v) place(v.el, p); }
      layout = l;
      data.dashboard = { ...data.dashboard, panels: l };
      save(l).then(() => updateAll());
    },
  });
  // Panels are drawn again only when the grid's width changed since they
  // were drawn: their sizes follow the width, and a change of height is the
  // panels' own content arriving (filling the grid made every dashboard draw
  // all its panels twice when it opened). data-redraw marks a drawing due.
  let resizeTimer = null;
  const ro = new ResizeObserver(() => {
    const width = grid.getBoundingClientRect().width;
    const stacked = width < STACK_PX;
    if (stacked !== grid.classList.contains('dash-stacked')) {
      grid.classList.toggle('dash-stacked', stacked);
      drawStatus();
    }
    if (!views.size || width === drawnWidth) return;
    clearTimeout(resizeTimer);
    grid.dataset.redraw = 'due';
    resizeTimer = setTimeout(() => {
      delete grid.dataset.redraw;
      if (views.size && grid.getBoundingClientRect().width !== drawnWidth) updateAll();
    }, 150);
  });
  ro.observe(grid);
  // For scripts/bench-portal (a refresh's main-thread time): the page's own
  // refresh, the minute's ("full" false) or the hourly whole one.
  grid.__dash = { refresh: (full = false) => refresh(full) };

  await refresh(true);
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(resizeTimer);
    ro.disconnect();
    detach();
    for (const v of views.values()) v.view.destroy();
  };
}

registerPage('dashboards', {
  title: 'nav.dashboards',
  prefix: true,
  render(container, params) {
    const id = Number(params.path);
    if (params.path && Number.isInteger(id) && id > 0) return renderDashboard(container, id);
    return renderList(container);
  },
});

export { renderDashboard };
