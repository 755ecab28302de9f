import { publishLua } from '../lib/paths.js';
import type { Result } from '../lib/report.js';
import { loadResult, profileDirFor, runServiceLoad } from './service-load.js';
import type { Scenario } from './types.js';

export const kShardCounts = [1, 2, 4] as const;

/**
 * batch-1000 at -c8 (enough requests in flight to feed every shard) against a fresh server per
 * shard count: events/s as shards are added. Results `scaling-shards:<n>`.
 */
export const scalingShards: Scenario = {
  name: 'scaling-shards',
  needsBuild: true,
  needsWrk: true,
  variants: () => kShardCounts.map(String),
  plan: (context) => `${kShardCounts.length} × ${context.durationS} s of wrk, shards ${kShardCounts.join(', ')}`,
  async run(context) {
    const results: Result[] = [];
    for (const shards of kShardCounts) {
      const name = `scaling-shards:${shards}`;
      process.stderr.write(`[bench] ${name}: ${context.durationS} s of wrk -c8\n`);
      const load = await runServiceLoad({
        wrk: context.wrk!,
        script: publishLua,
        shards,
        batch: 1000,
        connections: 8,
        durationS: context.durationS,
        ...profileDirFor(context, `scaling-shards-${shards}`),
      });
      results.push(loadResult(name, load, load.wrk.summary.requests - load.wrk.summary.errors_status));
    }
    return results;
  },
  summarise(own) {
    if (own.length === 0) return null;
    const perShard = own.map((result) => `${result.scenario.slice('scaling-shards:'.length)} → ${Math.round(result.events_per_s ?? 0).toLocaleString('en-US')}`);
    return `scaling-shards (events/s by shard count, -c8): ${perShard.join(', ')}`;
  },
};
