// 32 series colours (V2): a calm, well-separated set readable on white.
// The first ten are the Tableau 10 colours; the rest are darker and lighter
// variations in a different order so neighbours stay distinct.
export const PALETTE = Object.freeze([
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#7f7f7f',
  '#2f4b7c', '#d45087', '#00876c', '#ff7c43', '#665191',
  '#a05195', '#3d9ec4', '#bc5090', '#8c9e2c', '#c0392b',
  '#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e',
  '#e6ab02', '#a6761d', '#005f73', '#9b2226', '#6a4c93',
  '#0a9396', '#bb3e03',
]);

export const colour = (i) => PALETTE[i % PALETTE.length];
