import { runMicro, type MicroTask } from '../lib/micro.js';
import { codecTasks } from '../micro/codec.js';
import { ringTasks } from '../micro/ring.js';
import { shardCommitSuite } from '../micro/shard-commit.js';
import { validateTasks } from '../micro/validate.js';
import type { Scenario } from './types.js';

/**
 * In-process micro benchmarks (tinybench) of the hot steps of a publish, on a 1000-event batch:
 * validation, msgpack encode/decode next to JSON, one frame through a ring, one shard commit.
 * The src modules are imported directly (tsx), not the build.
 */
export const micro: Scenario = {
  name: 'micro',
  needsBuild: false,
  needsWrk: false,
  plan: (context) => (context.quick ? 'tinybench, ~0.2 s per task' : 'tinybench, ~2 s per task'),
  async run(context) {
    const shardCommit = await shardCommitSuite();
    let results;
    try {
      const tasks: MicroTask[] = [...validateTasks(), ...codecTasks(), ...ringTasks(), ...shardCommit.tasks];
      results = runMicro(tasks, context.quick);
    } finally {
      await shardCommit.dispose();
    }
    return results;
  },
};
