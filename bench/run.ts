/**
 * End-to-end benchmark of the built service (dist/main.js), its baselines, micro benchmarks and
 * scaling curves. See bench/README.md.
 * Exit codes: 0 ok, 1 a scenario failed or bad flags, 2 wrk is missing (outside --quick).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBenchArgs, usage, type BenchOptions } from './lib/args.js';
import { killTrackedChildren } from '../harness/children.js';
import { formatProfile, summariseProfiles } from './lib/cpu-profile.js';
import { distMain, resultsDir } from './lib/paths.js';
import { benchLine, formatTable, rate, saveResults, type RatedResult, type Result } from './lib/report.js';
import { systemInfo } from './lib/system.js';
import { removeTempDirsSync } from '../harness/temp-dirs.js';
import { findWrk, wrkVersion } from './lib/wrk.js';
import { scenarios } from './scenarios/index.js';
import { scenarioContext, type Scenario } from './scenarios/types.js';

const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

function parse(): BenchOptions {
  try {
    return parseBenchArgs(process.argv.slice(2), scenarios.map((scenario) => scenario.name));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    process.exit(1);
  }
}

/** Where --profile puts the CPU profiles: next to the results, or a kept temp dir with --no-save. */
async function profileDir(options: BenchOptions, date: Date): Promise<string | null> {
  if (!options.profile) return null;
  if (!options.save) return mkdtemp(join(tmpdir(), 'eoa-bench-profiles-'));
  const dir = join(resultsDir, 'profiles', date.toISOString().replace(/:/g, '-'));
  await mkdir(dir, { recursive: true });
  return dir;
}

interface Run {
  readonly scenario: Scenario;
  readonly results: readonly RatedResult[];
}

/** BENCH lines, the common table, then whatever each scenario adds (its summarise()). */
function report(runs: readonly Run[], baselines: readonly string[]): void {
  const all = runs.flatMap((run) => run.results);
  for (const result of all) process.stdout.write(`${benchLine(result)}\n`);
  const tabled = runs.filter((run) => !run.scenario.ownTable).flatMap((run) => run.results);
  if (tabled.length > 0) process.stdout.write(`\n${formatTable(tabled, baselines)}\n`);
  for (const run of runs) {
    const summary = run.scenario.summarise?.(run.results, all) ?? null;
    if (summary !== null) process.stdout.write(`\n${summary}\n`);
  }
}

async function main(): Promise<number> {
  const options = parse();
  if (options.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping child processes, removing temp dirs`);
      killTrackedChildren();
      removeTempDirsSync();
      process.exit(130);
    });
  }

  let selected = scenarios.filter((scenario) => options.only === null || options.only.includes(scenario.name));
  if (selected.some((scenario) => scenario.needsBuild) && !existsSync(distMain)) {
    process.stderr.write(`error: ${distMain} not found: run \`npm run build\` first (npm run bench does)\n`);
    return 1;
  }
  const wrk = findWrk();
  if (wrk === null && selected.some((scenario) => scenario.needsWrk)) {
    const message = 'wrk is not installed (looked for $WRK, then wrk on PATH): install it with `apt-get install wrk`';
    if (!options.quick) {
      process.stderr.write(`error: ${message}\n`);
      return 2;
    }
    log(`${message}; --quick: skipping ${selected.filter((scenario) => scenario.needsWrk).map((scenario) => scenario.name).join(', ')}`);
    selected = selected.filter((scenario) => !scenario.needsWrk);
  }

  const date = new Date();
  const system = systemInfo(wrk === null ? null : wrkVersion(wrk), date);
  process.stdout.write(`SYSTEM ${JSON.stringify(system)}\n`);
  const profiles = await profileDir(options, date);
  const context = scenarioContext(options, wrk, profiles);

  const produced: { scenario: Scenario; results: readonly Result[] }[] = [];
  let failed = 0;
  const runStarted = performance.now();
  for (const scenario of selected) {
    const plan = scenario.plan?.(context) ?? (scenario.needsWrk ? `${options.durationS} s of wrk` : `${options.storeEvents} events`);
    log(`${scenario.name}: running (${plan})`);
    const started = performance.now();
    try {
      const outcome = await scenario.run(context);
      const results = Array.isArray(outcome) ? (outcome as readonly Result[]) : [outcome as Result];
      produced.push({ scenario, results });
      log(`${scenario.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      for (const result of results) {
        const other = result.details.other_cpu_s;
        const seconds = typeof result.details.seconds === 'number' ? result.details.seconds : options.durationS;
        if (typeof other === 'number' && other > 0.25 * seconds) {
          log(`warning: ${result.scenario}: ${other} CPU-s went to processes other than the server and wrk; other work on this machine skewed the result`);
        }
      }
    } catch (error) {
      failed++;
      log(`${scenario.name}: FAILED: ${(error as Error).stack ?? String(error)}`);
    }
  }
  log(`all scenarios done in ${((performance.now() - runStarted) / 1000).toFixed(1)} s`);

  const baselines = scenarios.filter((scenario) => scenario.baseline).map((scenario) => scenario.name);
  const all = produced.flatMap((run) => run.results);
  const runs = produced.map(({ scenario, results }): Run => ({ scenario, results: rate(results, all, baselines, !scenario.ownTable) }));
  report(runs, baselines);
  if (profiles !== null) {
    process.stdout.write(`\nCPU profiles (top self-time frames) in ${profiles}\n`);
    for (const summary of await summariseProfiles(profiles)) process.stdout.write(`\n${formatProfile(summary)}\n`);
  }
  if (options.save) {
    const file = await saveResults(date, { system, options, results: runs.flatMap((run) => run.results) });
    log(`results saved to ${file}`);
  } else {
    log('--no-save: results not written');
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    killTrackedChildren();
    removeTempDirsSync();
    process.exitCode = 1;
  },
);
