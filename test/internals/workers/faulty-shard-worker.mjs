// The built shard worker with faults on cue, for the ShardPool / ShardSlot tests (ShardOptions.workerFile).
// Marker files in the data dir, checked inside each commit's transaction (rows inserted, nothing
// committed yet), only for commits that carry events (not the loop's first record or a probe):
//   fail-next-commit-<shard>  that shard's next commit throws (the file is removed first): a failed commit, the loop pauses
//   hold-commits              every commit waits while the file exists: a slow disk, the ring stays full
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { workerData } from 'piscina';
import { open, run as realRun } from '../../../dist/shard-worker.js';

export { open };

const pause = new Int32Array(new SharedArrayBuffer(4));

export function run() {
  const dir = dirname(workerData.path);
  const fail = join(dir, `fail-next-commit-${workerData.shard}`);
  const hold = join(dir, 'hold-commits');
  return realRun({
    insideCommit(events) {
      if (events === 0) return;
      while (existsSync(hold)) Atomics.wait(pause, 0, 0, 2);
      if (!existsSync(fail)) return;
      rmSync(fail);
      throw Object.assign(new Error('injected commit failure'), { code: 'SQLITE_IOERR' });
    },
  });
}
