import { Piscina } from 'piscina';
import { RingConsumer } from '../ring/consumer.js';
import { RingProducer } from '../ring/producer.js';
import { ShardSignals } from '../ring/signals.js';
import { shardPath } from '../store/data-dir.js';
import type { ShardPoolOptions, FrameTicket } from './shard-pool.js';
import type { ShardWorkerData } from './protocol.js';
import { WalSyncer } from './wal-syncer.js';
import { workerFile } from './worker-file.js';

/** The ingress thread's state of one shard: its two rings, its one-thread pool, and what the pool knows of its loop. */
export interface Shard {
  readonly index: number;
  readonly ring: RingProducer;
  readonly signals: ShardSignals;
  /** The shard loop's completion records, read here. */
  readonly completions: RingConsumer;
  readonly pool: Piscina;
  /** Tickets of frames in the ring, oldest first; the ring holds their bytes in the same order. */
  readonly pending: FrameTicket[];
  /** Whether the loop task is running (from its start until it returns, dies or is replaced). */
  looping: boolean;
  /** Whether a wait for completion records is pending (at most one per shard). */
  listening: boolean;
  /** Settles once the current loop task has returned or died, and its records are collected. */
  loopEnded: Promise<void>;
  /** Why the shard refuses writes, until a probe or a new loop commits again. */
  failure: string | null;
  /** Fsyncs the shard's WAL off its writer's path (--sync full and interval). */
  readonly syncer: WalSyncer;
  /** Commit records waiting for their fsync (--sync full): their tickets are out of `pending` already. */
  unsynced: number;
  /** Why the shard's commits cannot be made durable, until an fsync succeeds again. */
  syncFailure: string | null;
  /** The fsync retried after a failure, while one is scheduled. */
  syncRetry: NodeJS.Timeout | null;
  commits: number;
  lastCommitMs: number;
}

/** A shard's rings and its one-thread Piscina pool; the loop task is started later (ShardPool). */
export function createShard(index: number, options: ShardPoolOptions): Shard {
  const ring = new RingProducer(options.ringBytes);
  // A commit's completion record is smaller than the frames it commits (a status byte and a
  // topic count per event against a whole record), so a ring of the same size always holds one.
  const completions = new RingProducer(options.ringBytes);
  const path = shardPath(options.dataDir, index);
  const workerData: ShardWorkerData = {
    shard: index,
    shardCount: options.shards,
    path,
    ring: ring.buffer,
    completions: completions.buffer,
    drainBytes: options.drainBytes,
    lifecycle: options.lifecycle,
  };
  const pool = new Piscina({
    filename: options.workerFile ?? workerFile('shard-worker'),
    name: 'run',
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: 1,
    workerData,
  });
  return {
    index,
    ring,
    signals: new ShardSignals(ring.buffer),
    completions: new RingConsumer(completions.buffer),
    pool,
    pending: [],
    looping: false,
    listening: false,
    loopEnded: Promise.resolve(),
    failure: null,
    syncer: new WalSyncer(path, (milliseconds) => options.onSynced?.(index, milliseconds)),
    unsynced: 0,
    syncFailure: null,
    syncRetry: null,
    commits: 0,
    lastCommitMs: 0,
  };
}
