import { join } from 'node:path';
import { onLines, spawnTracked, waitExit } from '../../harness/children.js';
import { repoRoot, storeInsertEntry } from '../lib/paths.js';
import { kib2mib } from '../../harness/proc.js';
import { RssSampler } from '../../harness/rss-sampler.js';
import { makeTempDir, removeTempDir } from '../../harness/temp-dirs.js';
import { duplicateRatio, type Scenario } from './types.js';

interface StoreInsertOutput {
  readonly events: number;
  readonly inserted: number;
  readonly duplicates: number;
  readonly insert_s: number;
  readonly wall_s: number;
  readonly events_per_s: number;
}

/** Baseline: what one SQLite writer thread can commit, with the service's schema, in its own process. */
export const storeLimit: Scenario = {
  name: 'store-limit',
  baseline: true,
  needsBuild: false,
  needsWrk: false,
  async run(context) {
    const dir = await makeTempDir('eoa-bench-');
    try {
      const args = ['--import', 'tsx', storeInsertEntry, '--db', join(dir, 'store.db'), '--events', String(context.storeEvents), '--duplicates', String(duplicateRatio), '--batch', '1000'];
      const child = spawnTracked(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      if (child.pid === undefined) throw new Error(`cannot start ${process.execPath} ${args.join(' ')}`);
      const sampler = new RssSampler(child.pid);
      const output: string[] = [];
      onLines(child.stdout, (line) => output.push(line));
      onLines(child.stderr, (line) => output.push(line));
      const exit = await waitExit(child, 300_000);
      sampler.stop();
      const line = output.filter((text) => text.startsWith('{')).pop();
      if (exit.code !== 0 || line === undefined) throw new Error(`store baseline failed (${exit.timedOut ? 'timed out' : `exit ${exit.code ?? exit.signal}`})\n${output.slice(-20).join('\n')}`);
      const result = JSON.parse(line) as StoreInsertOutput;
      const peak = sampler.peakKiB;
      return {
        scenario: 'store-limit',
        events_per_s: result.events_per_s,
        requests_per_s: null,
        p50_ms: null,
        p99_ms: null,
        dup_rate: result.duplicates / result.events,
        peak_rss_mib: peak === null ? null : kib2mib(peak),
        details: { ...result, rows_per_transaction: 1000, synchronous: 'NORMAL', journal_mode: 'WAL' },
      };
    } finally {
      await removeTempDir(dir);
    }
  },
};
