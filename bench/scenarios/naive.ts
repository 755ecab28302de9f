import { naiveEntry, publishLua } from '../lib/paths.js';
import { startTsEntry } from '../lib/server.js';
import { loadResult, runServiceLoad } from './service-load.js';
import type { Scenario } from './types.js';

/**
 * Baseline: the obvious server (bench/baselines/naive.ts: node:http, one SQLite connection on the
 * main thread, SELECT then INSERT per event, autocommit), under the same wrk load and duration as
 * batch-1000 (batches of 1000, 20% duplicates, -t1 -c4). batch-1000 ÷ naive is what the
 * architecture buys.
 */
export const naive: Scenario = {
  name: 'naive',
  baseline: true,
  needsBuild: false,
  needsWrk: true,
  async run(context) {
    const load = await runServiceLoad({
      wrk: context.wrk!,
      script: publishLua,
      shards: 1,
      batch: 1000,
      connections: 4,
      durationS: context.durationS,
      start: () => startTsEntry(naiveEntry, [], '--data-dir'),
    });
    const { summary } = load.wrk;
    return loadResult('naive', load, summary.status_200 ?? summary.requests - summary.errors_status, {
      server: 'node:http, one SQLite connection on the main thread, SELECT + INSERT per event, autocommit, WAL, synchronous=NORMAL',
    });
  },
};
