import type { BenchOptions } from '../lib/args.js';
import type { RatedResult, Result } from '../lib/report.js';

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

/** The context scenarios run in, from the command line. */
export function scenarioContext(options: BenchOptions, wrk: string | null, profileDir: string | null): ScenarioContext {
  const { durationS, quick, shards, storeEvents, big } = options;
  return { durationS, quick, shards, storeEvents, wrk, big, profileDir };
}

export interface Scenario {
  readonly name: string;
  readonly needsWrk: boolean;
  /** Runs the built service, dist/main.js. */
  readonly needsBuild: boolean;
  /** Every end-to-end result is rated against this one's events/s: `ratio_vs_<name>`, column `vs <name>`. */
  readonly baseline?: boolean;
  /** Its results are no end-to-end runs (micro benchmarks): not rated, not in the common table; summarise() shows them. */
  readonly ownTable?: boolean;
  /** What the progress line says the scenario is about to do; default: its wrk duration. */
  plan?(context: ScenarioContext): string;
  /** The variants run() gives results `<name>:<variant>` for; without it, one result named `<name>`. */
  variants?(context: ScenarioContext): readonly string[];
  run(context: ScenarioContext): Promise<Result | readonly Result[]>;
  /** What the report shows for this scenario after the common table, from its results and the whole run's. */
  summarise?(own: readonly RatedResult[], all: readonly RatedResult[]): string | null;
}

/** The names of the results a scenario gives in `context`. */
export function resultNames(scenario: Scenario, context: ScenarioContext): string[] {
  return scenario.variants ? scenario.variants(context).map((variant) => `${scenario.name}:${variant}`) : [scenario.name];
}

export const duplicateRatio = 0.2;
