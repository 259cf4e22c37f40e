// The graph of a dashboard panel: uPlot over min/max buckets that the
// WebAssembly core computed at the plot's pixel width (chart/buckets.mjs
// draws each bucket as four points, so every spike shows), special values
// as the viewer's marks, one value axis per unit (no series is ever drawn
// against another unit's numbers), times in the shown time zone. No
// toolbar, no zoom: the panel's "open in the viewer" is for that.
//
//   const g = panelChart(host, { locale, channels: [{name, unit, colour}] });
//   g.width()                       // the plotting area's width in CSS pixels (buckets to ask for)
//   g.measure()                     // the host's size (a layout read; see draw)
//   g.draw({from, to, buckets, series: [buckets.mjs series]}, size?)
//                                   // "size": what measure() gave before this
//                                   // round of DOM writes, so that drawing a
//                                   // dashboard's panels forces no layout
//   g.destroy()
import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { toPlot } from '../chart/buckets.mjs';
import { drawMarks } from '../chart/marks.mjs';
import { timeTicks, valueTicks, getZone } from '../chart/format.mjs';

export function panelChart(host, { locale, channels }) {
  let u = null;
  let block = null;
  let plot = null;
  let size = { width: 0, height: 0 };

  function measure() {
    const r = host.getBoundingClientRect();
    return { width: Math.max(120, Math.floor(r.width)), height: Math.max(90, Math.floor(r.height)) };
  }

  function opts() {
    const units = [];
    channels.forEach((ch) => { if (!units.includes(ch.unit || '')) units.push(ch.unit || ''); });
    const scales = { x: { time: true, auto: false, range: () => [block.from, block.to] } };
    units.forEach((un, i) => {
      scales[`u${i}`] = {
        auto: true,
        range: (self, lo, hi) => {
          if (lo == null || hi == null) return [0, 1];
          if (lo === hi) { const d = Math.abs(lo) * 0.05 || 1; return [lo - d, hi + d]; }
          const m = (hi - lo) * 0.06;
          return [lo - m, hi + m];
        },
      };
    });
    const narrow = size.width < 360;
    const axes = [{
      scale: 'x', size: 38, space: narrow ? 60 : 80, stroke: '#5b6b6e',
      grid: { stroke: 'rgba(0,0,0,.06)', width: 1 }, ticks: { show: false },
      values: (self, splits, ai, space, incr) => timeTicks(locale, splits, incr),
    }];
    units.forEach((un, i) => {
      axes.push({
        scale: `u${i}`, side: i % 2 === 0 ? 3 : 1, stroke: '#5b6b6e',
        grid: { show: i === 0, stroke: 'rgba(0,0,0,.06)', width: 1 }, ticks: { show: false },
        label: un || undefined, labelSize: un ? 16 : 0, labelFont: '12px system-ui, sans-serif',
        values: (self, splits, ax, space, incr) => valueTicks(locale, splits, incr),
        size: (self, values) => 10 + Math.max(3, ...(values || []).map((s) => String(s).length)) * 7,
      });
    });
    return {
      ...size,
      ms: 1,
      ...(getZone() ? { tzDate: (ts) => uPlot.tzDate(new Date(ts), getZone()) } : {}),
      scales, axes,
      series: [{}, ...channels.map((ch) => ({
        label: ch.name, scale: `u${units.indexOf(ch.unit || '')}`, stroke: ch.colour, width: 1.25,
        spanGaps: false, points: { show: false },
      }))],
      legend: { show: false },
      cursor: { show: false },
      padding: [8, 8, 0, 0],
      hooks: { draw: [(self) => drawMarks(self, block, plot && plot.marks)] },
    };
  }

  return {
    /**
     * The width of the plotting area in CSS pixels (uPlot's, without the
     * axes): one bucket per pixel column. Before the first draw, a guess.
     */
    width() {
      if (u) return Math.max(1, Math.round(u.bbox.width / uPlot.pxRatio));
      return Math.max(40, measure().width - 60);
    },
    measure,
    draw(b, measured) {
      block = b;
      plot = toPlot(b);
      const data = [plot.x, ...plot.ys];
      const m = measured || measure();
      if (!u) {
        size = m;
        u = new uPlot(opts(), data, host);
        return;
      }
      if (m.width !== size.width || m.height !== size.height) {
        size = m;
        u.setSize(size);
      }
      u.setData(data, true);
    },
    destroy() {
      if (u) u.destroy();
      u = null;
    },
  };
}
