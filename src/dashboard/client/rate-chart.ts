import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatRate } from './format.js';
import type { RatePoint } from './rates.js';

const kHeight = 240;
const axisColor = '#64748b';
const gridColor = '#e2e8f0';
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

export const seriesColors = { received: '#2563eb', unique: '#16a34a', duplicates: '#ea580c' } as const;

/** Events per second (received, unique, duplicate) over a sliding window (the server's history, then the live polls), drawn by uPlot on a canvas. */
export class RateChart {
  readonly #plot: uPlot;
  readonly #container: HTMLElement;

  constructor(container: HTMLElement, windowSeconds: number) {
    this.#container = container;
    const rate = (_plot: uPlot, value: number | null) => (value === null ? '–' : `${formatRate(value)}/s`);
    this.#plot = new uPlot(
      {
        width: Math.max(container.clientWidth, 300),
        height: kHeight,
        scales: {
          // A fixed window ending at the newest point, so time moves at a steady pace across the chart.
          x: { time: true, range: (_plot, _min, max) => (Number.isFinite(max) ? [max - windowSeconds, max] : [Date.now() / 1000 - windowSeconds, Date.now() / 1000]) },
          y: { range: (_plot, _min, max) => [0, Number.isFinite(max) ? Math.max(1, max * 1.15) : 1] },
        },
        series: [
          { label: 'time', value: (_plot, seconds: number | null) => (seconds === null ? '–' : clock.format(seconds * 1000)) },
          { label: 'received', stroke: seriesColors.received, width: 2, value: rate },
          { label: 'unique', stroke: seriesColors.unique, width: 2, value: rate },
          { label: 'duplicates', stroke: seriesColors.duplicates, width: 2, value: rate },
        ],
        axes: [
          // Plain wall-clock times: uPlot's default adds a date line under every few ticks.
          { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 }, space: 90, values: (_plot, splits) => splits.map((seconds) => clock.format(seconds * 1000)) },
          { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor, width: 1 }, size: 56, values: (_plot, splits) => splits.map((value) => formatRate(value)) },
        ],
        cursor: { drag: { x: false, y: false } },
      },
      [[], [], [], []],
      container,
    );
    // uPlot has a fixed size; follow the card's width.
    new ResizeObserver(() => {
      const width = Math.max(container.clientWidth, 300);
      if (width !== this.#plot.width) this.#plot.setSize({ width, height: kHeight });
    }).observe(container);
  }

  show(points: readonly RatePoint[]): void {
    this.#plot.setData([points.map((point) => point.at), points.map((point) => point.received), points.map((point) => point.unique), points.map((point) => point.duplicates)]);
    // For tests and the curious: how many points are drawn, and the highest received rate among them.
    this.#container.dataset.points = String(points.length);
    this.#container.dataset.maxReceived = String(points.reduce((max, point) => Math.max(max, point.received), 0));
  }
}
