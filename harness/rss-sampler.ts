import { readCpuSeconds, readRssKiB } from './proc.js';

export interface RssSample {
  /** performance.now() at the reading. */
  readonly at: number;
  readonly rssKiB: number;
}

/** Reads a process's RSS every `intervalMs` (default 200 ms) until stopped or the process is gone. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #cpuSeconds: number | null = null;

  constructor(pid: number, intervalMs = 200) {
    this.#pid = pid;
    this.#read();
    this.#timer = setInterval(() => this.#read(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#read();
    clearInterval(this.#timer);
  }

  get peakKiB(): number | null {
    return this.samples.length === 0 ? null : Math.max(...this.samples.map((sample) => sample.rssKiB));
  }

  /** CPU seconds the process had used at the last reading. */
  get cpuSeconds(): number | null {
    return this.#cpuSeconds;
  }

  /** RSS of the last sample taken at or before `from + fraction × (to − from)`. */
  at(from: number, to: number, fraction: number): number | null {
    const target = from + fraction * (to - from);
    let found: RssSample | undefined;
    for (const sample of this.samples) if (sample.at <= target) found = sample;
    return found?.rssKiB ?? null;
  }

  #read(): void {
    const rssKiB = readRssKiB(this.#pid);
    if (rssKiB !== null) this.samples.push({ at: performance.now(), rssKiB });
    this.#cpuSeconds = readCpuSeconds(this.#pid) ?? this.#cpuSeconds;
  }
}
