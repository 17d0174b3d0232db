/**
 * A small line-chart renderer for `Figure`s: standalone SVG 1.1, no dependencies. Axes with "nice"
 * ticks (1, 2 or 5 times a power of ten; powers of ten on a log x axis), the axis domains widened to
 * the outer ticks, one colour per series with a legend, an optional translucent band lo..hi per
 * series, a title and axis labels; all text escaped. NaN points break a line (and its band); a
 * `dashed` series is drawn dashed.
 */
import { wrapWords } from '../text';
import type { Figure, Series } from './types';

/** The drawing's size and the plot area's margins, in SVG user units (pixels). */
export const LAYOUT = { width: 720, height: 420, left: 72, right: 190, top: 42, bottom: 56 } as const;

/** Colour-blind-safe palette (Okabe-Ito), then a few more. */
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442', '#7f7f7f', '#8c564b'];

/**
 * Text made safe for SVG content and attribute values.
 *
 * @example
 * escapeXml('a < b & "c"'); // 'a &lt; b &amp; &quot;c&quot;'
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** 1, 2, 5 or 10 times a power of ten, the nearest at or above `x` (x > 0). */
function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  const f = x / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** An axis: its domain (the outer ticks) and its ticks. */
export interface Axis {
  readonly min: number;
  readonly max: number;
  readonly ticks: number[];
  readonly log: boolean;
}

/**
 * A linear axis over [lo, hi]: about `count` ticks at a nice step, the domain widened to the ticks
 * at or beyond the data. A single value gets a unit-wide domain around it.
 *
 * @example
 * linearAxis(0.3, 9.2); // { min: 0, max: 10, ticks: [0, 2, 4, 6, 8, 10], log: false }
 */
export function linearAxis(lo: number, hi: number, count = 6): Axis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = lo === 0 ? [0, 1] : [lo - Math.abs(lo) / 2, hi + Math.abs(hi) / 2];
  const step = niceStep((hi - lo) / (count - 1));
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; min + i * step <= max + step * 1e-9; i++) ticks.push(cleanFloat(min + i * step));
  return { min: cleanFloat(min), max: cleanFloat(max), ticks, log: false };
}

/**
 * A log axis over [lo, hi] (both > 0): the domain from the power of ten at or below lo to the one at
 * or above hi, a tick at each power; over a single decade also at 2 and 5 times it.
 *
 * @example
 * logAxis(0.002, 0.5); // { min: 0.001, max: 1, ticks: [0.001, 0.01, 0.1, 1], log: true }
 */
export function logAxis(lo: number, hi: number): Axis {
  if (!(lo > 0) || !(hi > 0)) [lo, hi] = [1, 10];
  let a = Math.floor(Math.log10(lo) + 1e-9);
  let b = Math.ceil(Math.log10(hi) - 1e-9);
  if (a === b) b = a + 1;
  const ticks: number[] = [];
  for (let k = a; k <= b; k++) {
    ticks.push(cleanFloat(10 ** k));
    if (b - a === 1 && k < b) ticks.push(cleanFloat(2 * 10 ** k), cleanFloat(5 * 10 ** k));
  }
  ticks.sort((x, y) => x - y);
  [a, b] = [10 ** a, 10 ** b];
  return { min: cleanFloat(a), max: cleanFloat(b), ticks, log: true };
}

/** Rounds away binary noise (0.30000000000000004 -> 0.3). */
const cleanFloat = (x: number) => Number(x.toPrecision(12));

/**
 * A tick's label: plain for ordinary numbers, `20k`/`1.5M` for large ones, `1e-4` for tiny ones.
 *
 * @example
 * formatTick(20000); // '20k'
 * formatTick(0.001); // '0.001'
 */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${cleanFloat(v / 1e6)}M`;
  if (a >= 1e4) return `${cleanFloat(v / 1e3)}k`;
  if (a < 1e-3) return v.toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(cleanFloat(v));
}

/** Where a data value lands on an axis spanning pixels [p0, p1]. */
export function project(axis: Axis, v: number, p0: number, p1: number): number {
  const t = axis.log ? (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min)) : (v - axis.min) / (axis.max - axis.min);
  return p0 + t * (p1 - p0);
}

const fmt = (v: number) => String(Math.round(v * 100) / 100);

/** About how wide a character of sans-serif text is, in ems (a little over Helvetica's and DejaVu Sans's average). */
const CHAR_EM = 7 / 12;
/** Space kept free at the canvas's left and right edges. */
const EDGE = 8;

/**
 * The title's lines in the top margin: one line of 15 px centred over the plot when it fits there,
 * else centred on the canvas; a title too long for that is wrapped into two even lines of 13 px, the
 * canvas widened until two lines fit. Returns the lines and the canvas width they need.
 */
function titleLines(title: string, width: number, plotCentre: number): { width: number; lines: { text: string; x: number; y: number; size: number }[] } {
  const { top } = LAYOUT;
  const wide = (text: string, size: number) => text.length * CHAR_EM * size;
  if (wide(title, 15) / 2 <= Math.min(plotCentre, width - plotCentre) - EDGE) return { width, lines: [{ text: title, x: plotCentre, y: top / 2 + 4, size: 15 }] };
  if (wide(title, 15) <= width - 2 * EDGE) return { width, lines: [{ text: title, x: width / 2, y: top / 2 + 4, size: 15 }] };
  // Two lines as even as the words allow (the shortest line length that still gives two lines).
  for (let w = width; ; w += 20) {
    const most = Math.floor((w - 2 * EDGE) / (CHAR_EM * 13));
    for (let chars = Math.ceil(title.length / 2); chars <= most; chars++) {
      const lines = wrapWords(title, chars);
      if (lines.length <= 2 && lines.every((l) => l.length <= most)) {
        return { width: w, lines: lines.map((text, i) => ({ text, x: w / 2, y: top / 2 - 3 + 16 * i, size: 13 })) };
      }
    }
  }
}

/** The stroke attribute of a dashed series' line and legend entry. */
const dash = (s: Series) => (s.dashed ? ' stroke-dasharray="6 4"' : '');

/** The runs of consecutive indices where `ok` holds. */
function segments(n: number, ok: (i: number) => boolean): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  for (let i = 0; i < n; i++) {
    if (ok(i)) current.push(i);
    else if (current.length > 0) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The axes a figure's data (bands included) needs. */
export function figureAxes(figure: Figure): { x: Axis; y: Axis } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of figure.series) {
    s.x.forEach((x, i) => {
      if (!Number.isFinite(x) || (figure.xLog && !(x > 0))) return;
      for (const y of [s.y[i], s.lo?.[i], s.hi?.[i]]) if (y !== undefined && Number.isFinite(y)) ys.push(y);
      if (Number.isFinite(s.y[i])) xs.push(x);
    });
  }
  const range = (v: number[]) => (v.length === 0 ? [NaN, NaN] : [Math.min(...v), Math.max(...v)]);
  const [x0, x1] = range(xs);
  const [y0, y1] = range(ys);
  return { x: figure.xLog ? logAxis(x0, x1) : linearAxis(x0, x1), y: linearAxis(y0, y1) };
}

/**
 * The figure as a standalone SVG document.
 *
 * @example
 * await writeFileAtomic('fig.svg', renderSvg({ id: 'f', title: 'T', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', x: [0, 1], y: [0, 1] }] }));
 */
export function renderSvg(figure: Figure): string {
  const { height, left, right, top, bottom } = LAYOUT;
  const [px0, px1, py0, py1] = [left, LAYOUT.width - right, height - bottom, top];
  // The canvas widens past LAYOUT.width for long legend labels (about 7 px a character at 12 px),
  // the plot keeping its place and size.
  const longest = Math.max(0, ...figure.series.map((s) => s.name.length));
  const title = titleLines(figure.title, Math.max(LAYOUT.width, Math.ceil(px1 + 44 + 7 * longest + 12)), (px0 + px1) / 2);
  const { width } = title;
  const { x: xAxis, y: yAxis } = figureAxes(figure);
  const X = (v: number) => project(xAxis, v, px0, px1);
  const Y = (v: number) => project(yAxis, v, py0, py1);
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(figure.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  for (const line of title.lines) {
    out.push(`<text class="title" x="${fmt(line.x)}" y="${fmt(line.y)}" text-anchor="middle" font-size="${line.size}">${escapeXml(line.text)}</text>`);
  }
  // Grid lines and ticks.
  out.push(`<g class="x-axis">`);
  for (const t of xAxis.ticks) {
    const x = fmt(X(t));
    out.push(`<line x1="${x}" y1="${py1}" x2="${x}" y2="${py0}" stroke="#e5e5e5"/>`);
    out.push(`<text class="tick" x="${x}" y="${py0 + 16}" text-anchor="middle">${escapeXml(formatTick(t))}</text>`);
  }
  out.push(`</g>`);
  out.push(`<g class="y-axis">`);
  for (const t of yAxis.ticks) {
    const y = fmt(Y(t));
    out.push(`<line x1="${px0}" y1="${y}" x2="${px1}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text class="tick" x="${px0 - 6}" y="${fmt(Y(t) + 4)}" text-anchor="end">${escapeXml(formatTick(t))}</text>`);
  }
  out.push(`</g>`);
  out.push(`<rect x="${px0}" y="${py1}" width="${px1 - px0}" height="${py0 - py1}" fill="none" stroke="#333333"/>`);
  out.push(`<text class="x-label" x="${fmt((px0 + px1) / 2)}" y="${height - 14}" text-anchor="middle">${escapeXml(figure.xLabel)}</text>`);
  out.push(`<text class="y-label" x="16" y="${fmt((py0 + py1) / 2)}" text-anchor="middle" transform="rotate(-90 16 ${fmt((py0 + py1) / 2)})">${escapeXml(figure.yLabel)}</text>`);
  // Bands first, lines over them.
  const ok = (s: Series, i: number) => Number.isFinite(s.x[i]) && (!figure.xLog || s.x[i] > 0);
  figure.series.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length];
    if (!s.lo || !s.hi) return;
    const { lo, hi } = s;
    for (const seg of segments(s.x.length, (i) => ok(s, i) && Number.isFinite(lo[i]) && Number.isFinite(hi[i]))) {
      const upper = seg.map((i) => `${fmt(X(s.x[i]))} ${fmt(Y(hi[i]))}`);
      const lower = [...seg].reverse().map((i) => `${fmt(X(s.x[i]))} ${fmt(Y(lo[i]))}`);
      out.push(`<path class="band" data-series="${escapeXml(s.name)}" d="M ${[...upper, ...lower].join(' L ')} Z" fill="${colour}" fill-opacity="0.2" stroke="none"/>`);
    }
  });
  figure.series.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length];
    for (const seg of segments(s.x.length, (i) => ok(s, i) && Number.isFinite(s.y[i]))) {
      if (seg.length === 1) {
        out.push(`<circle class="point" data-series="${escapeXml(s.name)}" cx="${fmt(X(s.x[seg[0]]))}" cy="${fmt(Y(s.y[seg[0]]))}" r="2.5" fill="${colour}"/>`);
        continue;
      }
      const d = seg.map((i) => `${fmt(X(s.x[i]))} ${fmt(Y(s.y[i]))}`).join(' L ');
      out.push(`<path class="series" data-series="${escapeXml(s.name)}" d="M ${d}" fill="none" stroke="${colour}" stroke-width="1.8"${dash(s)}/>`);
    }
  });
  // Legend to the right of the plot.
  out.push(`<g class="legend">`);
  figure.series.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length];
    const y = py1 + 10 + k * 20;
    out.push(
      `<g class="legend-entry"><line x1="${px1 + 14}" y1="${y}" x2="${px1 + 38}" y2="${y}" stroke="${colour}" stroke-width="2.5"${dash(s)}/><text x="${px1 + 44}" y="${y + 4}">${escapeXml(s.name)}</text></g>`,
    );
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return `${out.join('\n')}\n`;
}
