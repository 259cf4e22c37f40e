// Small line icons for the chart's buttons (SVG built with the DOM, so no
// markup strings and nothing for the Content-Security-Policy to refuse).
const NS = 'http://www.w3.org/2000/svg';

const PATHS = {
  zoomIn: ['M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 0 0 0-13z', 'M15.5 15.5L21 21', 'M10.5 7.5v6', 'M7.5 10.5h6'],
  zoomOut: ['M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 0 0 0-13z', 'M15.5 15.5L21 21', 'M7.5 10.5h6'],
  left: ['M14.5 6l-6 6l6 6'],
  right: ['M9.5 6l6 6l-6 6'],
  reset: ['M4 12a8 8 0 1 0 2.4-5.7', 'M4 4v5h5'],
  axis: ['M5 4v16h15', 'M9 8h9', 'M9 12h6', 'M9 16h8'],
  open: ['M4 7h6l2 2h8v10H4z'],
  close: ['M6 6l12 12', 'M18 6L6 18'],
};

/** An <svg> icon by name, 20 px, stroked in currentColor, hidden from screen readers. */
export function icon(name) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('mc-icon');
  for (const d of PATHS[name] || []) {
    const p = document.createElementNS(NS, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
  }
  return svg;
}
