// The dashboard's grid (B1): 12 columns of rows ROW_PX high; a panel covers
// columns x..x+w-1 and rows y..y+h-1, and no two panels overlap (the
// server refuses that too). A panel moved or resized takes its place in the
// reading order and every panel rises as far as the ones before it allow,
// so the grid never has holes to hunt for. Narrower than STACK_PX the panels stack in
// the order (y, x), each as wide as the screen (a phone).
//
// Pointer events (mouse, pen and touch alike) on a panel's move handle
// and its resize corner; the arrow keys on a focused handle move by one
// cell (with Shift: resize). Positions are applied with the CSSOM (the
// portal's CSP allows no style attributes).

export const COLS = 12;
export const ROW_PX = 56;
export const GAP_PX = 12;
export const STACK_PX = 640;
const MAX_ROWS = 480;
/** The time windows of a graph panel. */
export const WINDOWS = ['hour', 'day', 'week'];

/** Grid rows for a new values panel of "n" channels: one value a row, and the head. */
export function valuesHeight(n) {
  return Math.min(24, Math.max(2, n + 1));
}

export function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Panels in reading order: (y, x). */
export function ordered(panels) {
  return [...panels].sort((a, b) => a.y - b.y || a.x - b.x);
}

/**
 * The layout after panel "id" took its new place (its x, y, w, h in
 * "panels"): the panels keep their reading order, with the moved one
 * put where its new place comes in that order (so moving a panel below its
 * neighbour swaps them); then each, in that order, goes as high as the
 * panels before it allow (gravity: the grid never keeps holes). Returns new
 * panel objects; the input is not changed.
 */
export function resolve(panels, id) {
  const moved = panels.find((p) => p.id === id);
  const order = ordered(panels.filter((p) => p !== moved));
  if (moved) {
    let i = order.findIndex((q) => q.y > moved.y || (q.y === moved.y && q.x >= moved.x));
    if (i < 0) i = order.length;
    order.splice(i, 0, moved);
  }
  return pack(order);
}

/** Every panel as high as it can go, in reading order. */
export function compact(panels) {
  return pack(ordered(panels));
}

function pack(order) {
  const sky = new Array(COLS).fill(0);
  return order.map((p) => {
    const q = { ...p };
    let y = 0;
    for (let c = q.x; c < q.x + q.w; c++) y = Math.max(y, sky[c]);
    q.y = y;
    for (let c = q.x; c < q.x + q.w; c++) sky[c] = y + q.h;
    return q;
  });
}

/** Put element "el" on the cells of "p". */
export function place(el, p) {
  el.style.gridColumn = `${p.x + 1} / span ${p.w}`;
  el.style.gridRow = `${p.y + 1} / span ${p.h}`;
}

/**
 * Make "grid" arrangeable. opts: panels() (the current layout), element(id),
 * editing() (whether moving is on), commit(layout) (a finished move or
 * resize, with the layout after it), preview(layout) (during the move).
 * Returns a function that detaches it.
 */
export function arrange(grid, opts) {
  let drag = null;

  function metrics() {
    const r = grid.getBoundingClientRect();
    const colW = (r.width + GAP_PX) / COLS;
    return { r, colW, rowH: ROW_PX + GAP_PX };
  }

  function onDown(e) {
    if (!opts.editing() || grid.classList.contains('dash-stacked')) return;
    const handle = e.target.closest('[data-grid-handle]');
    if (!handle || !grid.contains(handle)) return;
    const el = handle.closest('[data-panel]');
    const start = opts.panels().find((p) => p.id === el.dataset.panel);
    if (!start) return;
    e.preventDefault();
    handle.setPointerCapture(e.pointerId);
    const m = metrics();
    drag = { mode: handle.dataset.gridHandle, id: start.id, start, x0: e.clientX, y0: e.clientY, m,
      handle, layout: opts.panels(), el };
    el.classList.add('dash-moving');
  }

  function target(e) {
    const { start, m, mode } = drag;
    const dc = Math.round((e.clientX - drag.x0) / m.colW);
    const dr = Math.round((e.clientY - drag.y0) / m.rowH);
    const p = { ...start };
    if (mode === 'move') {
      p.x = Math.max(0, Math.min(COLS - p.w, start.x + dc));
      p.y = Math.max(0, Math.min(MAX_ROWS - p.h, start.y + dr));
    } else {
      p.w = Math.max(1, Math.min(COLS - p.x, start.w + dc));
      p.h = Math.max(1, Math.min(24, start.h + dr));
    }
    return p;
  }

  function layoutWith(p) {
    return resolve(opts.panels().map((q) => (q.id === p.id ? p : q)), p.id);
  }

  function onMove(e) {
    if (!drag) return;
    const p = target(e);
    drag.layout = layoutWith(p);
    opts.preview(drag.layout);
  }

  function onUp(e) {
    if (!drag) return;
    const d = drag;
    drag = null;
    d.el.classList.remove('dash-moving');
    try { d.handle.releasePointerCapture(e.pointerId); } catch { /* released already */ }
    const before = JSON.stringify(opts.panels().map(({ id, x, y, w, h }) => [id, x, y, w, h]));
    const after = JSON.stringify(d.layout.map(({ id, x, y, w, h }) => [id, x, y, w, h]));
    if (before !== after) opts.commit(d.layout);
    else opts.preview(opts.panels());
  }

  // Keys on a focused handle: arrows move one cell; with Shift they resize.
  function onKey(e) {
    const handle = e.target.closest && e.target.closest('[data-grid-handle]');
    if (!handle || !opts.editing() || grid.classList.contains('dash-stacked')) return;
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
    if (!step) return;
    e.preventDefault();
    const id = handle.closest('[data-panel]').dataset.panel;
    const p = { ...opts.panels().find((q) => q.id === id) };
    if (e.shiftKey || handle.dataset.gridHandle === 'resize') {
      p.w = Math.max(1, Math.min(COLS - p.x, p.w + step[0]));
      p.h = Math.max(1, Math.min(24, p.h + step[1]));
    } else {
      p.x = Math.max(0, Math.min(COLS - p.w, p.x + step[0]));
      p.y = Math.max(0, p.y + step[1]);
    }
    opts.commit(layoutWith(p));
  }

  grid.addEventListener('pointerdown', onDown);
  grid.addEventListener('pointermove', onMove);
  grid.addEventListener('pointerup', onUp);
  grid.addEventListener('pointercancel', onUp);
  grid.addEventListener('keydown', onKey);
  return () => {
    grid.removeEventListener('pointerdown', onDown);
    grid.removeEventListener('pointermove', onMove);
    grid.removeEventListener('pointerup', onUp);
    grid.removeEventListener('pointercancel', onUp);
    grid.removeEventListener('keydown', onKey);
  };
}
