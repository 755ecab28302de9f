/**
 * The 1000-event batch the micro benchmarks work on: the same events bench/wrk/publish.lua sends
 * (four topics, payload {n, ok}), parsed from a JSON body the way ingress sees them.
 */
import type { Event } from '../../src/events/schema.js';
import { batchBody } from '../lib/events.js';

export const kBatchSize = 1000;

export function eventBatch(size = kBatchSize): Event[] {
  return JSON.parse(batchBody(0, size, 'm-')) as Event[];
}
