import type { Result } from '../lib/report.js';

export interface ScenarioContext {
  readonly durationS: number;
  readonly quick: boolean;
  readonly shards: number;
  /** Rows the store-limit baseline inserts. */
  readonly storeEvents: number;
  /** The wrk binary, or null when it is not installed. */
  readonly wrk: string | null;
}

export interface Scenario {
  readonly name: string;
  readonly needsWrk: boolean;
  /** Runs the built service, dist/main.js. */
  readonly needsBuild: boolean;
  run(context: ScenarioContext): Promise<Result>;
}

export const duplicateRatio = 0.2;
