import { percentile } from './load.js';

/*
 * Latency distributions as an SVG, written by the bench itself (no external service): one panel per
 * setup, latency against percentile on a "nines" axis (p50, p90, p99, p99.9), so the tail is as
 * readable as the median.
 */

export interface ChartSeries {
  label: string;
  color: string;
  /** Latencies in milliseconds, sorted ascending. */
  sorted: Float64Array;
}

export interface ChartPanel {
  title: string;
  series: ChartSeries[];
}

const PANEL_WIDTH = 440;
const PANEL_HEIGHT = 280;
const MARGIN = { left: 56, right: 16, top: 34, bottom: 40 };
const NINES = [
  { x: 0, label: 'p0' },
  { x: Math.log10(2), label: 'p50' },
  { x: 1, label: 'p90' },
  { x: 2, label: 'p99' },
  { x: 3, label: 'p99.9' },
];

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" step for about `ticks` ticks up to `max`. */
function niceStep(max: number, ticks = 5): number {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

function panelSvg(panel: ChartPanel, originX: number, originY: number): string {
  const width = PANEL_WIDTH - MARGIN.left - MARGIN.right;
  const height = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const longest = Math.max(...panel.series.map((s) => s.sorted.length));
  // Never plot further into the tail than the samples can tell (at least 10 per plotted point).
  const maxNines = Math.min(3, Math.max(1, Math.log10(longest / 10)));
  const top = Math.max(
    ...panel.series.map((s) => percentile(s.sorted, 1 - 10 ** -maxNines)),
    0.001,
  );
  const step = niceStep(top);
  const yMax = Math.ceil(top / step) * step;
  const x = (nines: number) => originX + MARGIN.left + (nines / maxNines) * width;
  const y = (ms: number) => originY + MARGIN.top + height - (Math.min(ms, yMax) / yMax) * height;
  const parts: string[] = [];
  parts.push(
    `<text x="${originX + MARGIN.left}" y="${originY + 20}" font-size="14" font-weight="bold">${escape(panel.title)}</text>`,
  );
  for (let value = 0; value <= yMax + step / 2; value += step) {
    const yy = y(value).toFixed(1);
    parts.push(
      `<line x1="${x(0)}" x2="${x(maxNines)}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`,
      `<text x="${x(0) - 6}" y="${yy}" font-size="11" text-anchor="end" dominant-baseline="middle">${Number(value.toPrecision(3))}</text>`,
    );
  }
  for (const tick of NINES.filter((t) => t.x <= maxNines + 1e-9)) {
    const xx = x(tick.x).toFixed(1);
    parts.push(
      `<line x1="${xx}" x2="${xx}" y1="${y(0)}" y2="${y(yMax)}" stroke="#e5e5e5"/>`,
      `<text x="${xx}" y="${y(0) + 16}" font-size="11" text-anchor="middle">${tick.label}</text>`,
    );
  }
  parts.push(
    `<text x="${originX + 14}" y="${originY + MARGIN.top + height / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 ${originX + 14} ${originY + MARGIN.top + height / 2})">latency (ms)</text>`,
  );
  panel.series.forEach((series, index) => {
    const points: string[] = [];
    for (let i = 0; i <= 300; i++) {
      const nines = (i / 300) * maxNines;
      const value = percentile(series.sorted, 1 - 10 ** -nines);
      points.push(`${x(nines).toFixed(1)},${y(value).toFixed(1)}`);
    }
    parts.push(
      `<polyline fill="none" stroke="${series.color}" stroke-width="1.6" points="${points.join(' ')}"/>`,
    );
    const legendY = originY + MARGIN.top + 12 + index * 16;
    parts.push(
      `<line x1="${x(0) + 10}" x2="${x(0) + 30}" y1="${legendY}" y2="${legendY}" stroke="${series.color}" stroke-width="2"/>`,
      `<text x="${x(0) + 36}" y="${legendY}" font-size="11" dominant-baseline="middle">${escape(series.label)} (n=${series.sorted.length})</text>`,
    );
  });
  return parts.join('\n');
}

/** The whole chart: panels two to a row. */
export function latencyChartSvg(title: string, panels: ChartPanel[]): string {
  const columns = 2;
  const rows = Math.ceil(panels.length / columns);
  const width = columns * PANEL_WIDTH;
  const height = rows * PANEL_HEIGHT + 30;
  const body = panels
    .map((panel, i) =>
      panelSvg(panel, (i % columns) * PANEL_WIDTH, 30 + Math.floor(i / columns) * PANEL_HEIGHT),
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" font-size="15" text-anchor="middle">${escape(title)}</text>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}
