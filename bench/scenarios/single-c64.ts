import { publishLua } from '../lib/paths.js';
import { loadResult, runServiceLoad } from './service-load.js';
import type { Scenario } from './types.js';

/** One event per request, 20% duplicates, wrk -t1 -c64. */
export const singleC64: Scenario = {
  name: 'single-c64',
  needsBuild: true,
  needsWrk: true,
  async run(context) {
    const load = await runServiceLoad({ wrk: context.wrk!, script: publishLua, shards: context.shards, batch: 1, connections: 64, durationS: context.durationS });
    return loadResult('single-c64', load, load.wrk.summary.requests - load.wrk.summary.errors_status);
  },
};
