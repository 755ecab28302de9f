import { loadScenario } from './service-load.js';

/** Batches of 1000 events, 20% duplicates, wrk -t1 -c4. */
export const batch1000 = loadScenario('batch-1000', { batch: 1000, connections: 4 });
