import { join } from 'node:path';
import { ShardDb, type StoreEvent } from '../../src/store/shard-db.js';
import { EventSource } from '../lib/events.js';
import type { MicroSuite } from '../lib/micro.js';
import { makeTempDir, removeTempDir } from '../../harness/temp-dirs.js';
import { duplicateRatio } from '../scenarios/types.js';
import { kBatchSize } from './batch.js';

/**
 * One ShardDb.commit of a 1000-event batch (one transaction: INSERT OR IGNORE per event, topic and
 * shard counters) into a WAL file in a temp dir, synchronous=NORMAL. 20% of the events repeat ids
 * already sent; every op gets fresh seqs. The batch is built before each op, outside the timing.
 * The file grows over the run (a few hundred thousand rows), as a shard's does.
 */
export async function shardCommitSuite(): Promise<MicroSuite> {
  const dir = await makeTempDir('eoa-bench-');
  const db = new ShardDb({ path: join(dir, 'shard-000.db'), shard: 0, shardCount: 1 });
  const source = new EventSource(duplicateRatio, 23);
  let seq = 1;
  let events: StoreEvent[] = [];
  let stored = 0;
  let sent = 0;
  const nextBatch = (): void => {
    events = new Array<StoreEvent>(kBatchSize);
    for (let index = 0; index < kBatchSize; index++) events[index] = { seq: seq++, ...source.next() };
  };
  return {
    tasks: [
      {
        name: 'shard-commit',
        op: `ShardDb.commit of ${kBatchSize} events (20% duplicates), one transaction, WAL, synchronous=NORMAL`,
        eventsPerOp: kBatchSize,
        bytesPerOp: null,
        hooks: { beforeEach: nextBatch },
        fn: () => {
          const outcome = db.commit([{ receivedAt: Date.now(), events, rejected: 0, wantsStatuses: false }]);
          stored += outcome.batches[0]!.inserted;
          sent += kBatchSize;
          return outcome;
        },
        // counted over warmup and measured ops alike: every op's batch went into the same file
        details: () => ({ rows_in_file_at_end: stored, events_committed: sent, duplicate_share: sent > 0 ? (sent - stored) / sent : null }),
      },
    ],
    async dispose() {
      db.close();
      await removeTempDir(dir);
      if (sent > 0 && (stored === 0 || stored === sent)) throw new Error(`shard-commit stored ${stored} of ${sent} events: the duplicates did not work as intended`);
    },
  };
}
