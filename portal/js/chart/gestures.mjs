// Zoom and pan gestures on the plot area, with pointer events (uPlot has
// no touch zoom): one finger drags the time axis, two fingers pinch it, the
// mouse wheel zooms around the pointer (a horizontal wheel pans), and a
// mouse drag with Shift or the middle button pans. A plain mouse drag is
// left to uPlot, which draws the selection to zoom into.
//
//   attachGestures(el, { area, getRange, setRange })
//     el        the element listening (the plot's wrapper)
//     area()    the plot area element (uPlot's .u-over) or null
//     getRange() -> [from, to] (ms), the visible range
//     setRange(from, to, final)  show a new range; final = the gesture ended
//                (or a discrete step such as one wheel notch)
// Returns a function that removes the listeners.

const WHEEL_BASE = 1.0015; // zoom factor per wheel pixel

export function attachGestures(el, { area, getRange, setRange }) {
  const pts = new Map(); // pointerId -> x in the plot area (px)
  let anchor = null; // { from, to, width, a: [{id, v}] }

  const geometry = () => {
    const a = area();
    if (!a) return null;
    const r = a.getBoundingClientRect();
    return r.width > 0 ? r : null;
  };

  function reanchor() {
    const r = geometry();
    if (!r) return;
    const [from, to] = getRange();
    const span = to - from;
    anchor = { from, to, width: r.width, a: [] };
    for (const [id, x] of pts) anchor.a.push({ id, v: from + (span * x) / r.width });
  }

  function apply() {
    if (!anchor || !anchor.a.length) return;
    const w = anchor.width;
    const span0 = anchor.to - anchor.from;
    if (anchor.a.length === 1) {
      const x = pts.get(anchor.a[0].id);
      const from = anchor.a[0].v - (span0 * x) / w;
      setRange(from, from + span0, false);
      return;
    }
    const [p, q] = anchor.a;
    const xp = pts.get(p.id), xq = pts.get(q.id);
    if (Math.abs(xq - xp) < 12) return; // fingers too close to tell a scale
    const perPx = (q.v - p.v) / (xq - xp);
    if (!(perPx > 0)) return;
    const from = p.v - xp * perPx;
    setRange(from, from + w * perPx, false);
  }

  const inArea = (e) => {
    const a = area();
    return a && (e.target === a || a.contains(e.target));
  };

  function onDown(e) {
    if (!inArea(e)) return;
    const touch = e.pointerType !== 'mouse';
    if (!touch && !(e.shiftKey || e.button === 1)) return;
    const r = geometry();
    if (!r) return;
    try { el.setPointerCapture(e.pointerId); } catch { /* pointer already gone */ }
    pts.set(e.pointerId, e.clientX - r.left);
    reanchor();
    e.preventDefault();
  }

  function onMove(e) {
    if (!pts.has(e.pointerId) || !anchor) return;
    const r = geometry();
    if (!r) return;
    pts.set(e.pointerId, e.clientX - r.left);
    apply();
    e.preventDefault();
  }

  function onUp(e) {
    if (!pts.has(e.pointerId)) return;
    pts.delete(e.pointerId);
    if (pts.size) {
      reanchor(); // the remaining finger keeps dragging from where it is
      return;
    }
    anchor = null;
    const [from, to] = getRange();
    setRange(from, to, true);
  }

  // uPlot starts its selection on mousedown: keep it away from pans.
  function onMouseDownCapture(e) {
    if (inArea(e) && (e.shiftKey || e.button === 1)) e.stopPropagation();
  }

  function onWheel(e) {
    if (!inArea(e)) return;
    const r = geometry();
    if (!r) return;
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? r.height : 1;
    const dx = e.deltaX * unit, dy = e.deltaY * unit;
    const [from, to] = getRange();
    const span = to - from;
    if (Math.abs(dx) > Math.abs(dy)) {
      const shift = (span * dx) / r.width;
      setRange(from + shift, to + shift, true);
      return;
    }
    const f = Math.min(2, Math.max(0.5, WHEEL_BASE ** dy));
    const frac = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    const at = from + span * frac;
    setRange(at - span * f * frac, at + span * f * (1 - frac), true);
  }

  el.addEventListener('pointerdown', onDown);
  el.addEventListener('pointermove', onMove);
  el.addEventListener('pointerup', onUp);
  el.addEventListener('pointercancel', onUp);
  el.addEventListener('mousedown', onMouseDownCapture, true);
  el.addEventListener('wheel', onWheel, { passive: false });
  return () => {
    el.removeEventListener('pointerdown', onDown);
    el.removeEventListener('pointermove', onMove);
    el.removeEventListener('pointerup', onUp);
    el.removeEventListener('pointercancel', onUp);
    el.removeEventListener('mousedown', onMouseDownCapture, true);
    el.removeEventListener('wheel', onWheel);
  };
}
