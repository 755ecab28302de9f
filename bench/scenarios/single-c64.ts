import { loadScenario } from './service-load.js';

/** Single-event requests, 20% duplicates, wrk -t1 -c64: every one acknowledged after its commit. */
export const singleC64 = loadScenario('single-c64', { batch: 1, connections: 64 });
