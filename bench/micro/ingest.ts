import { IngestPipeline } from '../../src/ingest/pipeline.js';
import type { CommitPath } from '../../src/ingest/storage.js';
import type { MicroTask } from '../lib/micro.js';

/** A commit path with room everywhere that accepts a request at once: only the ingress thread's own work is left to time. */
const acceptingCommitPath: CommitPath = {
  shardCount: 2,
  frameCapacity: 32 << 20,
  freeBytes: () => 64 << 20,
  check: () => 'ok',
  commit: (frames) => Promise.resolve({ unique: frames.length, statuses: null }),
  recordRejected: () => undefined,
  delete: () => Promise.resolve({ deleted: 0, more: false }),
  groupCommand: () => Promise.reject(new Error('no groups in this bench')),
  problems: () => [],
};

/**
 * The ingest step of one single-event request on the ingress thread, as single-c64 sends it:
 * decode the JSON body, validate, encode the record, group by shard, check room, hand the frame
 * over. What is left of a request's cost on that thread is uWS reading and answering it, and the
 * doorbell (see BENCHMARKS.md).
 */
export function ingestTasks(): MicroTask[] {
  const pipeline = new IngestPipeline({ maxBatch: 10_000, maxEventBytes: 65_536, maxPayloadDepth: 64 }, acceptingCommitPath);
  const body = Buffer.from('{"topic":"auth.prod","event_id":"t0-12345","timestamp":"2025-10-22T10:30:00Z","source":"bench","payload":{"n":12345,"ok":true}}');
  return [
    {
      name: 'ingest-one',
      op: 'IngestPipeline.ingest of one JSON event up to the commit call (a commit path that accepts at once)',
      eventsPerOp: 1,
      bytesPerOp: body.length,
      // tinybench times sync functions only: the answer's promise settles after the run, which is
      // fine, since its work (one small summary object) belongs to the answering step.
      fn: () => {
        void pipeline.ingest(body, 'json', false);
      },
    },
  ];
}
