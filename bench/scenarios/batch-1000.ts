import { loadScenario } from './service-load.js';
import type { Scenario } from './types.js';

const share = (value: number | null | undefined): string => (value == null ? 'n/a' : `${(value * 100).toFixed(1)}%`);

/** Batches of 1000 events, 20% duplicates, wrk -t1 -c4; the report sets it against the baselines. */
export const batch1000: Scenario = {
  ...loadScenario('batch-1000', { batch: 1000, connections: 4 }),
  summarise([result]) {
    if (result === undefined) return null;
    const lines = [`batch-1000 = ${share(result.ratio_vs_store_limit)} of store-limit, ${share(result.ratio_vs_ingress_limit)} of ingress-limit (events/s)`];
    const naive = result.ratio_vs_naive;
    if (naive != null) lines.push(`batch-1000 = ${naive.toFixed(1)}× naive (what the architecture buys)`);
    return lines.join('\n');
  },
};

/** The same load as Elasticsearch _bulk: 1000 create actions per request, 20 % repeated ids (item 409s), to /es/_bulk. */
export const bulk1000 = loadScenario('bulk-1000', { batch: 1000, connections: 4, format: 'bulk' });
