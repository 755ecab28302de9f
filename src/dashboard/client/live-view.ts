import type { ShardStatus, Stats } from './api-types.js';
import { h, setText, syncRows } from './dom.js';
import { formatBytes, formatCount, formatDuration, formatMilliseconds, formatPercent, formatRate } from './format.js';
import { GroupsCard } from './groups-card.js';
import { RateChart, seriesColors } from './rate-chart.js';
import type { Rates } from './rates.js';
import { kHistorySeconds, type StatsUpdate } from './stats-poller.js';

/** The rate tiles average over this many seconds: one poll's rate jumps with every batch. */
const kRateSeconds = 5;
const kRecentRatioSeconds = 60;

interface Tile {
  readonly element: HTMLElement;
  readonly value: HTMLElement;
  readonly detail: HTMLElement;
}

/** A number with a label and a line of detail; `color` ties it to its series in the chart. */
function tile(name: string, label: string, color?: string): Tile {
  const value = h('div', { class: 'tile-value', attrs: { 'data-stat': name } }, '–');
  const detail = h('div', { class: 'tile-detail', attrs: { 'data-stat': `${name}-detail` } });
  const swatch = color ? h('span', { class: 'swatch' }) : null;
  // Set through the style object: the page's CSP allows no inline style attributes.
  if (swatch && color) swatch.style.background = color;
  const element = h('div', { class: 'card tile' }, h('div', { class: 'tile-label' }, swatch, label), value, detail);
  return { element, value, detail };
}

/** Live: rate tiles, the rate chart, per-topic counts, per-shard ring fill and commit latency, and consumer groups. */
export class LiveView {
  readonly element: HTMLElement;
  readonly #tiles: Readonly<Record<'received' | 'unique' | 'duplicates' | 'ratio' | 'rejected' | 'uptime', Tile>>;
  readonly #chartBox = h('div', { class: 'chart', attrs: { 'data-chart': 'rates' } });
  readonly #chart: RateChart;
  readonly #topics = h('tbody');
  readonly #shards = h('tbody');
  readonly #protocols = h('tbody');
  readonly #groups = new GroupsCard();
  readonly #onTopic: (topic: string) => void;

  constructor(onTopic: (topic: string) => void) {
    this.#onTopic = onTopic;
    this.#tiles = {
      received: tile('received-rate', 'Received / s', seriesColors.received),
      unique: tile('unique-rate', 'Unique / s', seriesColors.unique),
      duplicates: tile('duplicate-rate', 'Duplicates / s', seriesColors.duplicates),
      ratio: tile('duplicate-ratio', 'Duplicate ratio'),
      rejected: tile('rejected', 'Rejected'),
      uptime: tile('uptime', 'Uptime'),
    };
    const table = (headings: readonly string[], body: HTMLTableSectionElement, numericFrom: number) =>
      h('div', { class: 'table-scroll' }, h('table', null, h('thead', null, h('tr', null, ...headings.map((text, index) => h('th', { class: index >= numericFrom ? 'num' : '' }, text)))), body));
    this.element = h(
      'section',
      { class: 'view', attrs: { 'data-view': 'live' } },
      h('div', { class: 'tiles' }, ...Object.values(this.#tiles).map((item) => item.element)),
      h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Events per second'), h('span', { class: 'muted' }, `last ${kHistorySeconds / 60} minutes`)), this.#chartBox),
      h(
        'div',
        { class: 'columns' },
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Topics'), h('span', { class: 'muted' }, 'click one to browse it')), table(['Topic', 'Received', 'Unique', 'Duplicates', 'Dup. ratio', 'Events / s'], this.#topics, 1)),
        h('div', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', null, 'Shards')), table(['Shard', 'Ring fill', 'Pending frames', 'Commits', 'Last commit', 'Health'], this.#shards, 2)),
      ),
      h(
        'div',
        { class: 'card', attrs: { 'data-card': 'protocols' } },
        h('div', { class: 'card-head' }, h('h2', null, 'Protocols'), h('span', { class: 'muted' }, 'since the service started')),
        table(['Protocol', 'Requests', 'Received', 'Unique', 'Duplicates', 'Rejected'], this.#protocols, 1),
      ),
      this.#groups.element,
    );
    this.#chart = new RateChart(this.#chartBox, kHistorySeconds);
  }

  update({ stats, history }: StatsUpdate): void {
    const rates = history.ratesOver(kRateSeconds);
    this.#showTiles(stats, rates, history.duplicateRatioOver(kRecentRatioSeconds));
    this.#chart.show(history.points);
    this.#showTopics(stats, rates);
    this.#showShards(stats.shard_status);
    this.#showProtocols(stats.protocols);
    // /groups on the same rhythm as /stats, rather than a second timer.
    void this.#groups.refresh();
  }

  #showProtocols(protocols: Stats['protocols']): void {
    syncRows(
      this.#protocols,
      Object.entries(protocols),
      ([protocol]) => protocol,
      ([protocol]) => h('tr', { attrs: { 'data-protocol': protocol } }, h('td', null, protocol), ...[0, 1, 2, 3, 4].map(() => h('td', { class: 'num' }))),
      (tr, [, counts]) => {
        const cells = Array.from(tr.cells).slice(1);
        [counts.requests, counts.received, counts.unique_processed, counts.duplicate_dropped, counts.rejected].forEach((count, index) => setText(cells[index]!, formatCount(count)));
      },
    );
  }

  #showTiles(stats: Stats, rates: Rates | null, recentRatio: number | null): void {
    const tiles = this.#tiles;
    const rate = (value: number | undefined) => (value === undefined ? '–' : formatRate(value));
    setText(tiles.received.value, rate(rates?.received));
    setText(tiles.received.detail, `${formatCount(stats.received)} in total`);
    setText(tiles.unique.value, rate(rates?.unique));
    setText(tiles.unique.detail, `${formatCount(stats.unique_processed)} in total`);
    setText(tiles.duplicates.value, rate(rates?.duplicates));
    setText(tiles.duplicates.detail, `${formatCount(stats.duplicate_dropped)} in total`);
    setText(tiles.ratio.value, formatPercent(stats.received > 0 ? stats.duplicate_dropped / stats.received : null));
    setText(tiles.ratio.detail, `last minute: ${formatPercent(recentRatio)}`);
    setText(tiles.rejected.value, formatCount(stats.rejected));
    setText(tiles.rejected.detail, 'events refused by validation');
    setText(tiles.uptime.value, formatDuration(stats.uptime));
    const healthy = stats.shard_status.filter((shard) => shard.healthy).length;
    setText(tiles.uptime.detail, `${stats.shards} shard${stats.shards === 1 ? '' : 's'}, ${healthy === stats.shards ? 'all healthy' : `${stats.shards - healthy} failing`}`);
  }

  #showTopics(stats: Stats, rates: Rates | null): void {
    const rows = stats.topics.map((topic) => ({ topic, counts: stats.topic_counts[topic], rate: rates?.topics.get(topic) }));
    syncRows(
      this.#topics,
      rows,
      (row) => row.topic,
      (row) =>
        h(
          'tr',
          { class: 'clickable', on: { click: () => this.#onTopic(row.topic) } },
          h('td', null, h('a', { class: 'topic', attrs: { href: '#browse' } }, row.topic)),
          ...[0, 1, 2, 3, 4].map(() => h('td', { class: 'num' })),
        ),
      (tr, row) => {
        const cells = Array.from(tr.cells).slice(1);
        const received = row.counts?.received ?? 0;
        const duplicates = row.counts?.duplicate_dropped ?? 0;
        const texts = [formatCount(received), formatCount(row.counts?.unique_processed ?? 0), formatCount(duplicates), formatPercent(received > 0 ? duplicates / received : null), row.rate === undefined ? '–' : formatRate(row.rate)];
        texts.forEach((text, index) => setText(cells[index]!, text));
      },
    );
  }

  #showShards(shards: readonly ShardStatus[]): void {
    syncRows(
      this.#shards,
      shards,
      (shard) => String(shard.shard),
      () => h('tr', null, h('td'), h('td', null, h('div', { class: 'meter' }, h('div', { class: 'meter-fill' })), h('div', { class: 'meter-text muted' })), h('td', { class: 'num' }), h('td', { class: 'num' }), h('td', { class: 'num' }), h('td')),
      (tr, shard) => {
        const [name, ring, pending, commits, latency, health] = Array.from(tr.cells);
        const fill = shard.ring_capacity_bytes > 0 ? shard.ring_used_bytes / shard.ring_capacity_bytes : 0;
        setText(name!, `#${shard.shard}`);
        const bar = ring!.querySelector<HTMLElement>('.meter-fill')!;
        bar.style.width = `${Math.min(100, fill * 100).toFixed(1)}%`;
        bar.dataset.level = fill > 0.8 ? 'high' : fill > 0.5 ? 'medium' : 'low';
        setText(ring!.querySelector('.meter-text')!, `${formatPercent(fill)} of ${formatBytes(shard.ring_capacity_bytes)}`);
        setText(pending!, formatCount(shard.pending_frames));
        setText(commits!, formatCount(shard.commits));
        setText(latency!, formatMilliseconds(shard.last_commit_ms));
        health!.replaceChildren(h('span', { class: `badge ${shard.healthy ? 'ok' : 'bad'}` }, shard.healthy ? 'healthy' : 'failing'));
      },
    );
  }
}
