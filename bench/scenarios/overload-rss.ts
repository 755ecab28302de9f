import { kib2mib } from '../../harness/proc.js';
import { loadScenario } from './service-load.js';
import type { Scenario } from './types.js';

const mib = (kib: number | null): number | null => (kib === null ? null : Math.round(kib2mib(kib) * 10) / 10);

/**
 * Pushes faster than the server can commit: with 512 KiB rings, 64 connections each holding a
 * ~65 KiB frame per shard cannot all be queued, so some requests must get 503. Batches of 1000 at
 * -c64. Records RSS over the run (is memory flat?) and how many answers were 200 vs 503.
 */
export const overloadRss: Scenario = {
  ...loadScenario('overload-rss', {
    batch: 1000,
    connections: 64,
    ringBytes: 512 * 1024,
    describe(load) {
      const { summary, startedAt, endedAt } = load.wrk;
      const during = load.sampler.samples.filter((sample) => sample.at >= startedAt && sample.at <= endedAt);
      const rssAt = (fraction: number): number | null => mib(load.sampler.at(startedAt, endedAt, fraction));
      return {
        acknowledged: summary.status_200 ?? 0,
        extra: {
          status_200: summary.status_200 ?? null,
          status_503: summary.status_503 ?? null,
          status_other: summary.status_other ?? null,
          rss_mib_at_0: rssAt(0),
          rss_mib_at_25: rssAt(0.25),
          rss_mib_at_50: rssAt(0.5),
          rss_mib_at_75: rssAt(0.75),
          rss_mib_at_100: rssAt(1),
          // [seconds since wrk started, RSS MiB], every 200 ms
          rss_timeline: during.map((sample) => [Math.round(sample.at - startedAt) / 1000, mib(sample.rssKiB)]),
        },
      };
    },
  }),
  summarise([result]) {
    if (result === undefined) return null;
    const d = result.details;
    return (
      `overload-rss: RSS MiB at 0/25/50/75/100% of the run: ${[d.rss_mib_at_0, d.rss_mib_at_25, d.rss_mib_at_50, d.rss_mib_at_75, d.rss_mib_at_100].join(' / ')}; ` +
      `answers 200: ${d.status_200}, 503: ${d.status_503}, other: ${d.status_other}`
    );
  },
};
