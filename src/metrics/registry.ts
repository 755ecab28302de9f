/**
 * A minimal Prometheus registry: counters and histograms with labels, gauges read at scrape time,
 * rendered in the text exposition format (version 0.0.4). Updating a metric is a Map lookup and an
 * addition, cheap enough for once per request; nothing here is per event.
 */

type Labels = Readonly<Record<string, string | number>>;

interface Metric {
  render(lines: string[]): void;
}

function labelKey(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  return `{${names.map((name) => `${name}="${escapeLabel(String(labels[name]))}"`).join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function header(lines: string[], name: string, help: string, type: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

export class Counter implements Metric {
  readonly #values = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  render(lines: string[]): void {
    header(lines, this.name, this.help, 'counter');
    for (const [key, value] of this.#values) lines.push(`${this.name}${key} ${value}`);
  }
}

/** A gauge or counter whose samples are read from the service when scraped. */
export class Sampled implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    readonly sample: () => Iterable<readonly [Labels, number]>,
  ) {}

  render(lines: string[]): void {
    header(lines, this.name, this.help, this.type);
    for (const [labels, value] of this.sample()) lines.push(`${this.name}${labelKey(labels)} ${value}`);
  }
}

interface Buckets {
  readonly counts: number[];
  sum: number;
  count: number;
}

export class Histogram implements Metric {
  readonly #series = new Map<string, Buckets>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let series = this.#series.get(key);
    if (!series) this.#series.set(key, (series = { counts: new Array<number>(this.bounds.length).fill(0), sum: 0, count: 0 }));
    // Counts are per bucket here and made cumulative when rendered.
    const index = this.bounds.findIndex((bound) => value <= bound);
    if (index >= 0) series.counts[index]!++;
    series.sum += value;
    series.count++;
  }

  render(lines: string[]): void {
    header(lines, this.name, this.help, 'histogram');
    for (const [key, series] of this.#series) {
      const labels = key === '' ? '' : key.slice(1, -1);
      const withLe = (le: string) => `{${labels ? `${labels},` : ''}le="${le}"}`;
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += series.counts[index]!;
        lines.push(`${this.name}_bucket${withLe(String(bound))} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${withLe('+Inf')} ${series.count}`, `${this.name}_sum${key} ${series.sum}`, `${this.name}_count${key} ${series.count}`);
    }
  }
}

export class Registry {
  readonly #metrics: Metric[] = [];

  add<T extends Metric>(metric: T): T {
    this.#metrics.push(metric);
    return metric;
  }

  render(): string {
    const lines: string[] = [];
    for (const metric of this.#metrics) metric.render(lines);
    return `${lines.join('\n')}\n`;
  }
}
