/**
 * Runs micro benchmarks with tinybench and turns each task into a Result named `micro:<name>`.
 * ops/s is runs ÷ total measured time (1000 / mean ms), so events/s = ops/s × events per op adds
 * up; ± is tinybench's relative margin of error of the mean (95%), which is also the relative
 * margin of ops/s to first order. tinybench's own throughput mean (the mean of per-sample ops/s,
 * always a little higher) is kept in details.
 */
import { Bench, type FnOptions } from 'tinybench';
import type { Result } from './report.js';

export interface MicroTask {
  readonly name: string;
  /** One op, in words, for the report. */
  readonly op: string;
  readonly eventsPerOp: number;
  /** Bytes one op produces or consumes (encoded body, ring frame), or null. */
  readonly bytesPerOp: number | null;
  readonly fn: () => unknown;
  readonly hooks?: Pick<FnOptions, 'beforeEach' | 'afterEach' | 'beforeAll' | 'afterAll'>;
  /** More to record once the task ran (e.g. the duplicate share it saw). */
  readonly details?: () => Record<string, unknown>;
}

export interface MicroSuite {
  readonly tasks: readonly MicroTask[];
  /** Closes what the suite opened (databases, temp dirs). */
  dispose(): Promise<void>;
}

/** Budgets per task: --quick keeps the whole micro scenario to a couple of seconds. */
function budget(quick: boolean): { time: number; iterations: number; warmupTime: number; warmupIterations: number } {
  return quick ? { time: 150, iterations: 16, warmupTime: 50, warmupIterations: 4 } : { time: 1500, iterations: 64, warmupTime: 300, warmupIterations: 16 };
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

export function runMicro(tasks: readonly MicroTask[], quick: boolean): Result[] {
  const bench = new Bench({ name: 'micro', throws: true, ...budget(quick) });
  for (const task of tasks) bench.add(task.name, task.fn, { async: false, ...task.hooks });
  bench.runSync();
  return tasks.map((task): Result => {
    const found = bench.getTask(task.name);
    const result = found?.result;
    if (!found || !result || (result.state !== 'completed' && result.state !== 'aborted-with-statistics')) {
      throw new Error(`micro ${task.name}: ${result?.state === 'errored' ? result.error.stack : `state ${result?.state ?? 'missing'}`}`);
    }
    const { latency, throughput } = result;
    const opsPerS = 1000 / latency.mean;
    return {
      scenario: `micro:${task.name}`,
      events_per_s: opsPerS * task.eventsPerOp,
      requests_per_s: null,
      p50_ms: latency.p50,
      p99_ms: latency.p99,
      dup_rate: null,
      peak_rss_mib: null,
      details: {
        kind: 'micro',
        op: task.op,
        ops_per_s: opsPerS,
        rme_pct: round(latency.rme, 3),
        mean_ms: latency.mean,
        min_ms: latency.min,
        max_ms: latency.max,
        samples: latency.samplesCount,
        events_per_op: task.eventsPerOp,
        bytes_per_op: task.bytesPerOp,
        mb_per_s: task.bytesPerOp === null ? null : (task.bytesPerOp * opsPerS) / 1e6,
        tinybench_throughput_mean_ops_per_s: throughput.mean,
        tinybench_throughput_rme_pct: round(throughput.rme, 3),
        ...task.details?.(),
      },
    };
  });
}
