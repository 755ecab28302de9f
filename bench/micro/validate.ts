import { findProblems } from '../../src/events/validate.js';
import type { MicroTask } from '../lib/micro.js';
import { eventBatch, kBatchSize } from './batch.js';

/** The ingress validator (TypeBox compiled check + payload walk) on a valid 1000-event batch. */
export function validateTasks(): MicroTask[] {
  const batch = eventBatch();
  const limits = { maxPayloadDepth: 64 };
  const problems = findProblems(batch, limits);
  if (problems.length > 0) throw new Error(`the micro batch is invalid: ${JSON.stringify(problems.slice(0, 3))}`);
  return [
    {
      name: 'validate',
      op: `findProblems on ${kBatchSize} events, { maxPayloadDepth: 64 }`,
      eventsPerOp: kBatchSize,
      bytesPerOp: null,
      fn: () => findProblems(batch, limits),
    },
  ];
}
