import { loadScenario } from './service-load.js';

/** Single-event requests, 20% duplicates, wrk -t1 -c64: every one acknowledged after its commit. */
export const singleC64 = loadScenario('single-c64', { batch: 1, connections: 64 });

/**
 * The same requests, paced: each of the 64 connections waits 3 ms after an answer, which holds the
 * rate near half of single-c64's peak on this machine. Its p99 is the latency a publisher sees
 * when the service is busy but not saturated.
 */
export const singlePaced = loadScenario('single-paced', { batch: 1, connections: 64, pauseMs: 3 });
