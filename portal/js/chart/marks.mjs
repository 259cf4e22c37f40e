// Special values as marks (never as numbers): drawn on uPlot's canvas after
// the series. +OVER is a triangle at the top edge, -OVER one at the bottom
// edge, and a sensor break, a computation error or a missing value a small
// symbol on a strip along the bottom, each in its series' colour.

export const SHAPES = Object.freeze({
  '+over': 'up', '-over': 'down', break: 'cross', error: 'diamond', missing: 'ring',
});

function shape(ctx, kind, x, y, r) {
  ctx.beginPath();
  switch (SHAPES[kind] || 'diamond') {
    case 'up':
      ctx.moveTo(x, y - r); ctx.lineTo(x + r, y + r * 0.8); ctx.lineTo(x - r, y + r * 0.8);
      ctx.closePath(); ctx.fill();
      break;
    case 'down':
      ctx.moveTo(x, y + r); ctx.lineTo(x + r, y - r * 0.8); ctx.lineTo(x - r, y - r * 0.8);
      ctx.closePath(); ctx.fill();
      break;
    case 'cross':
      ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
      ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
      ctx.stroke();
      break;
    case 'ring':
      ctx.arc(x, y, r * 0.8, 0, 2 * Math.PI);
      ctx.stroke();
      break;
    default: // diamond
      ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y);
      ctx.closePath(); ctx.fill();
  }
}

/**
 * Draw the marks of every shown series. "u" is the uPlot instance,
 * "block" the data block (from, to, buckets), "perSeries" the marks of
 * buckets.mjs (one list per series, in series order from 1).
 */
export function drawMarks(u, block, perSeries) {
  if (!block || !perSeries) return;
  const ctx = u.ctx;
  const dpr = devicePixelRatio || 1;
  const { left, top, width, height } = u.bbox;
  const r = 3.5 * dpr;
  const w = (block.to - block.from) / block.buckets;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.lineWidth = 1.5 * dpr;
  perSeries.forEach((list, k) => {
    const s = u.series[k + 1];
    if (!s || !s.show || !list.length) return;
    ctx.fillStyle = ctx.strokeStyle = typeof s.stroke === 'function' ? s.stroke(u, k + 1) : s.stroke;
    let lastX = -1e9, lastKind = '';
    for (const m of list) {
      const t = block.from + w * (m.i + 0.5);
      const x = Math.round(u.valToPos(t, 'x', true));
      if (x < left - r || x > left + width + r) continue;
      if (x - lastX < r * 1.5 && m.kind === lastKind) continue; // one mark per few pixels
      lastX = x; lastKind = m.kind;
      let y;
      if (m.kind === '+over') y = top + r + dpr;
      else if (m.kind === '-over') y = top + height - r - dpr;
      else y = top + height - 3 * r - 2 * dpr;
      shape(ctx, m.kind, x, y, r);
    }
  });
  ctx.restore();
}

/** A small canvas with one mark, for the key under the chart. */
export function markSwatch(kind, colour) {
  const dpr = devicePixelRatio || 1;
  const c = document.createElement('canvas');
  c.width = c.height = Math.round(14 * dpr);
  c.style.width = c.style.height = '14px';
  c.setAttribute('aria-hidden', 'true');
  const ctx = c.getContext('2d');
  ctx.fillStyle = ctx.strokeStyle = colour;
  ctx.lineWidth = 1.5 * dpr;
  shape(ctx, kind, 7 * dpr, 7 * dpr, 4 * dpr);
  return c;
}
