import type { Result } from '../lib/report.js';

export interface ScenarioContext {
  readonly durationS: number;
  readonly quick: boolean;
  readonly shards: number;
  /** Rows the store-limit baseline inserts. */
  readonly storeEvents: number;
  /** The wrk binary, or null when it is not installed. */
  readonly wrk: string | null;
  /** --big: scaling-size goes on to 1e7 stored events. */
  readonly big: boolean;
  /** --profile: service processes write CPU profiles under this dir (one subdir per run); null = off. */
  readonly profileDir: string | null;
}

export interface Scenario {
  readonly name: string;
  readonly needsWrk: boolean;
  /** Runs the built service, dist/main.js. */
  readonly needsBuild: boolean;
  /** What the progress line says the scenario is about to do; default: its wrk duration. */
  plan?(context: ScenarioContext): string;
  /** One result, or several named `<scenario>:<variant>` (micro benchmarks, scaling points). */
  run(context: ScenarioContext): Promise<Result | readonly Result[]>;
}

export const duplicateRatio = 0.2;
