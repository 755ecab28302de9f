import type { ProgressOption } from './options.js';

/** What the progress display reads; the run updates it in place, the display samples it on a timer. */
export interface ProgressSnapshot {
  readonly total: number;
  readonly acknowledged: number;
  readonly requests: number;
  readonly retries: number;
}

/** A stream is all we need, plus whether it is a terminal (process.stderr has `isTTY`). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export type ProgressStyle = 'bar' | 'lines' | 'off';

// A bar redrawn more often than ~10×/s only costs terminal bandwidth; a log line more than once a second is noise.
const kBarIntervalMs = 100;
const kLineIntervalMs = 1000;
const kBarWidth = 30;

export function progressStyle(option: ProgressOption, stream: ProgressStream): ProgressStyle {
  if (option !== 'auto') return option;
  return stream.isTTY === true ? 'bar' : 'lines';
}

/**
 * Shows how far a run is: a bar redrawn in place on a terminal, or a plain line per second when the
 * output is a log. Sampling on a timer (instead of drawing on every acknowledgement) keeps the
 * cost independent of the request rate.
 */
export class Progress {
  readonly #style: ProgressStyle;
  readonly #stream: ProgressStream;
  readonly #read: () => ProgressSnapshot;
  readonly #startedAt = performance.now();
  #timer: NodeJS.Timeout | null = null;
  #lastDrawn = '';

  constructor(style: ProgressStyle, stream: ProgressStream, read: () => ProgressSnapshot) {
    this.#style = style;
    this.#stream = stream;
    this.#read = read;
  }

  start(): void {
    if (this.#style === 'off' || this.#timer) return;
    this.#timer = setInterval(() => this.#draw(), this.#style === 'bar' ? kBarIntervalMs : kLineIntervalMs);
    // The display must never be what keeps a finished process alive.
    this.#timer.unref();
  }

  /** Draws the final state once (a bar ends its line) and stops the timer. */
  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#draw();
    if (this.#style === 'bar') this.#stream.write('\n');
  }

  #draw(): void {
    const snapshot = this.#read();
    const elapsedS = (performance.now() - this.#startedAt) / 1000;
    const text = this.#style === 'bar' ? renderBar(snapshot, elapsedS) : renderLine(snapshot, elapsedS);
    if (text === this.#lastDrawn && this.#style === 'bar') return;
    this.#lastDrawn = text;
    // \r back to column 0 and ESC[K to clear what a longer previous draw left behind.
    this.#stream.write(this.#style === 'bar' ? `\r${text}\x1b[K` : `${text}\n`);
  }
}

function renderBar(snapshot: ProgressSnapshot, elapsedS: number): string {
  const fraction = snapshot.total === 0 ? 1 : snapshot.acknowledged / snapshot.total;
  const filled = Math.round(fraction * kBarWidth);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(kBarWidth - filled)}`;
  return `[${bar}] ${percent(fraction).padStart(4)} ${snapshot.acknowledged}/${snapshot.total} events  ${rate(snapshot, elapsedS)} ev/s  retries ${snapshot.retries}`;
}

function renderLine(snapshot: ProgressSnapshot, elapsedS: number): string {
  const fraction = snapshot.total === 0 ? 1 : snapshot.acknowledged / snapshot.total;
  return (
    `publisher: ${snapshot.acknowledged}/${snapshot.total} events acknowledged (${percent(fraction)}), ` +
    `${snapshot.requests} requests, ${snapshot.retries} retries, ${rate(snapshot, elapsedS)} events/s`
  );
}

function percent(fraction: number): string {
  return `${Math.floor(fraction * 100)}%`;
}

function rate(snapshot: ProgressSnapshot, elapsedS: number): number {
  return elapsedS > 0 ? Math.round(snapshot.acknowledged / elapsedS) : 0;
}
