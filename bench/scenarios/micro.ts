import { runMicro, type MicroTask } from '../lib/micro.js';
import { detail, fixed, integer, table, type Column } from '../lib/report.js';
import { codecTasks } from '../micro/codec.js';
import { ingestTasks } from '../micro/ingest.js';
import { ringTasks } from '../micro/ring.js';
import { shardCommitSuite } from '../micro/shard-commit.js';
import { validateTasks } from '../micro/validate.js';
import type { Scenario } from './types.js';

/** The tasks, in the order they run (run() checks that the task files give exactly these). */
const taskNames = ['validate', 'msgpack-encode', 'json-stringify', 'msgpack-decode', 'json-parse', 'ring-write-read', 'ingest-one', 'shard-commit'] as const;

const micros = (ms: number | null): string => (ms === null ? '-' : (ms * 1000).toFixed(1));

const microColumns: readonly Column[] = [
  ['micro', (r) => r.scenario.slice('micro:'.length)],
  ['ops/s', (r) => integer(detail(r, 'ops_per_s'))],
  ['± rme', (r) => `±${fixed(detail(r, 'rme_pct'), 2)}%`],
  ['mean µs/op', (r) => micros(detail(r, 'mean_ms'))],
  ['p99 µs/op', (r) => micros(r.p99_ms)],
  ['events/op', (r) => integer(detail(r, 'events_per_op'))],
  ['events/s', (r) => integer(r.events_per_s)],
  ['MB/s', (r) => fixed(detail(r, 'mb_per_s'), 1)],
  ['samples', (r) => integer(detail(r, 'samples'))],
];

/**
 * In-process micro benchmarks (tinybench) of the hot steps of a publish, on a 1000-event batch:
 * validation, msgpack encode/decode next to JSON, one frame through a ring, one shard commit; and
 * the ingress thread's ingest step for one single-event request.
 * The src modules are imported directly (tsx), not the build. Results `micro:<task>`, in their own
 * table (per-op time with tinybench's relative margin of error), not rated against the baselines.
 */
export const micro: Scenario = {
  name: 'micro',
  needsBuild: false,
  needsWrk: false,
  ownTable: true,
  plan: (context) => (context.quick ? 'tinybench, ~0.2 s per task' : 'tinybench, ~2 s per task'),
  variants: () => taskNames,
  async run(context) {
    const shardCommit = await shardCommitSuite();
    let results;
    try {
      const tasks: MicroTask[] = [...validateTasks(), ...codecTasks(), ...ringTasks(), ...ingestTasks(), ...shardCommit.tasks];
      const names = tasks.map((task) => task.name);
      if (names.join() !== taskNames.join()) throw new Error(`micro: the task files give ${names.join(', ')}; micro.ts lists ${taskNames.join(', ')}`);
      results = runMicro(tasks, context.quick);
    } finally {
      await shardCommit.dispose();
    }
    return results;
  },
  summarise: (own) => `micro (tinybench)\n\n${table(microColumns, own)}`,
};
