import type { SearchHistogram } from './api-types.js';
import { h, setText } from './dom.js';
import { formatCount } from './format.js';

/** A bucket narrower than this is not zoomed into: the API's times are whole milliseconds. */
const kMinZoomMs = 1000;

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const dayAndClock = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });

/** A time for the axis and the bars' labels: the day only when the range spans more than one. */
function formatTime(ms: number, spanMs: number): string {
  return (spanMs > 86_400_000 ? dayAndClock : clock).format(ms);
}

/**
 * The matches over time: one bar per bucket of GET /search/histogram, as plain elements sized
 * through their style objects (the page's CSP allows no inline style attributes, and uPlot's line
 * chart is no fit for counts per bucket). A click on a bar hands its time range to `onZoom`.
 */
export class SearchHistogramChart {
  readonly element: HTMLElement;
  readonly #bars = h('div', { class: 'histogram-bars', attrs: { 'data-search-view': 'histogram' } });
  readonly #top = h('span', { class: 'muted' });
  readonly #since = h('span', { class: 'muted', attrs: { 'data-search-view': 'histogram-since' } });
  readonly #until = h('span', { class: 'muted', attrs: { 'data-search-view': 'histogram-until' } });
  readonly #note = h('p', { class: 'muted empty', attrs: { 'data-search-view': 'histogram-note' } });
  readonly #onZoom: (since: string, until: string) => void;

  constructor(onZoom: (since: string, until: string) => void) {
    this.#onZoom = onZoom;
    this.element = h(
      'div',
      { class: 'histogram' },
      h('div', { class: 'histogram-scale' }, this.#top),
      this.#bars,
      h('div', { class: 'histogram-axis' }, this.#since, h('span', { class: 'spacer' }), this.#until),
      this.#note,
    );
  }

  show(histogram: SearchHistogram): void {
    const sinceMs = Date.parse(histogram.since);
    const untilMs = Date.parse(histogram.until);
    const span = untilMs - sinceMs;
    const highest = Math.max(0, ...histogram.buckets.map((bucket) => bucket.count));
    // A bucket ends where the next one starts; the last one at the range's end.
    const bars = histogram.buckets.map((bucket, index) => this.#bar(bucket.start, histogram.buckets[index + 1]?.start ?? histogram.until, bucket.count, highest, span));
    this.#bars.replaceChildren(...bars);
    this.#bars.dataset.total = String(histogram.total);
    setText(this.#top, highest > 0 ? `${formatCount(highest)} per bar at most` : 'no match in this range');
    setText(this.#since, formatTime(sinceMs, span));
    setText(this.#until, formatTime(untilMs, span));
    setText(this.#note, histogram.partial ? 'The count stopped at the service\'s bound: these bars show what was counted so far.' : '');
  }

  /** No histogram to show (the search failed): an empty frame rather than stale bars. */
  clear(message = ''): void {
    this.#bars.replaceChildren();
    delete this.#bars.dataset.total;
    setText(this.#top, '');
    setText(this.#since, '');
    setText(this.#until, '');
    setText(this.#note, message);
  }

  #bar(start: string, end: string, count: number, highest: number, span: number): HTMLButtonElement {
    const startMs = Date.parse(start);
    const endMs = Date.parse(end);
    const zoomable = endMs - startMs >= kMinZoomMs;
    const label = `${formatCount(count)} match${count === 1 ? '' : 'es'}, ${formatTime(startMs, span)} – ${formatTime(endMs, span)}${zoomable ? ': click to zoom in' : ''}`;
    const fill = h('span', { class: `histogram-fill${count > 0 ? ' some' : ''}` });
    fill.style.height = `${highest > 0 ? (count / highest) * 100 : 0}%`;
    return h(
      'button',
      {
        class: 'histogram-bar',
        attrs: { type: 'button', title: label, 'aria-label': label, 'data-count': count, 'data-start': start, 'data-end': end, disabled: !zoomable },
        on: { click: () => this.#onZoom(new Date(startMs).toISOString(), new Date(endMs).toISOString()) },
      },
      fill,
    );
  }
}
