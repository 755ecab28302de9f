import { publishLua } from '../lib/paths.js';
import { loadResult, runServiceLoad } from './service-load.js';
import type { Scenario } from './types.js';

/** Batches of 1000 events, 20% duplicates, wrk -t1 -c4. */
export const batch1000: Scenario = {
  name: 'batch-1000',
  needsBuild: true,
  needsWrk: true,
  async run(context) {
    const load = await runServiceLoad({ wrk: context.wrk!, script: publishLua, shards: context.shards, batch: 1000, connections: 4, durationS: context.durationS });
    return loadResult('batch-1000', load, load.wrk.summary.requests - load.wrk.summary.errors_status);
  },
};
