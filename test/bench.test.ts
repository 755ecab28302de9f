/**
 * The benchmark suite as a smoke test: `node --import tsx bench/run.ts --quick --no-save` must exit
 * 0 and print a `BENCH {...}` line with a positive events_per_s for every result each scenario of
 * bench/scenarios/index.ts says it gives (resultNames), without writing to bench/results/. Needs
 * dist/ (the pretest build); the wrk scenarios are skipped when wrk is not installed, as run.ts
 * --quick skips them. bench/search.ts, outside run.ts, runs on 3000 events as a smoke test of its own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from '../bench/lib/args.js';
import { findWrk } from '../bench/lib/wrk.js';
import { scenarios } from '../bench/scenarios/index.js';
import { resultNames, scenarioContext } from '../bench/scenarios/types.js';
import { missingTool } from '../harness/tools.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = fileURLToPath(new URL('../bench/results', import.meta.url));
const kTimeoutMs = 120_000;

/** The context run.ts --quick runs the scenarios in: it says which results each one must print. */
const quick = scenarioContext(parseBenchArgs(['--quick', '--no-save'], scenarios.map((scenario) => scenario.name)), findWrk(), null);

interface BenchResult {
  readonly scenario: string;
  readonly events_per_s: number | null;
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

function runBench(args: readonly string[], timeoutMs: number): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // SIGTERM lets the bench stop its servers and wrk and remove its temp dirs.
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

const resultFiles = (): string[] => (existsSync(resultsDir) ? readdirSync(resultsDir) : []);

test('bench/run.ts --quick: every scenario prints a BENCH line with positive events/s', { timeout: kTimeoutMs + 10_000 }, async (t) => {
  const filesBefore = resultFiles();
  const run = await runBench(['bench/run.ts', '--quick', '--no-save'], kTimeoutMs);
  t.diagnostic(`bench --quick took ${run.seconds.toFixed(1)} s`);
  const tail = run.stderr.split('\n').slice(-30).join('\n');
  assert.equal(run.signal, null, `bench --quick was stopped (${run.signal}) after ${run.seconds.toFixed(1)} s\n${tail}`);
  assert.equal(run.code, 0, `bench --quick exited ${run.code}\n${tail}`);
  assert.deepEqual(resultFiles(), filesBefore, '--no-save must leave bench/results/ as it was');

  const results = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('BENCH '))
    .map((line) => JSON.parse(line.slice('BENCH '.length)) as BenchResult);
  for (const scenario of scenarios) {
    const skip = scenario.needsWrk && quick.wrk === null ? missingTool('wrk', 'not on PATH, so run.ts --quick skips the wrk scenarios') : false;
    await t.test(scenario.name, { skip }, () => {
      for (const name of resultNames(scenario, quick)) {
        const result = results.find((candidate) => candidate.scenario === name);
        assert.ok(result, `no BENCH line for ${name}; got ${results.map((candidate) => candidate.scenario).join(', ')}`);
        assert.equal(typeof result.events_per_s, 'number', `${name}: events_per_s is ${result.events_per_s}`);
        assert.ok(result.events_per_s! > 0, `${name}: events_per_s is ${result.events_per_s}`);
      }
    });
  }
});

/**
 * bench/search.ts (not part of run.ts) on 3000 events: both servers, every figure answered, none
 * partial, each equal to the brute-force baseline's answer, and both ingests rated. Its figures
 * mean nothing at this size (goals are reported, not asserted).
 */
test('bench/search.ts --events 3000: every search figure agrees with the baseline and both ingests are measured', { timeout: 70_000 }, async (t) => {
  const run = await runBench(['bench/search.ts', '--events', '3000', '--runs', '3', '--brute-runs', '1'], 60_000);
  t.diagnostic(`bench/search.ts took ${run.seconds.toFixed(1)} s`);
  const tail = `${run.stdout.split('\n').slice(-20).join('\n')}\n${run.stderr.split('\n').slice(-20).join('\n')}`;
  assert.equal(run.signal, null, `bench/search.ts was stopped (${run.signal})\n${tail}`);
  assert.equal(run.code, 0, `bench/search.ts exited ${run.code}\n${tail}`);
  const lines = (prefix: string): any[] => run.stdout.split('\n').filter((line) => line.startsWith(prefix)).map((line) => JSON.parse(line.slice(prefix.length)));
  const checks = lines('CHECK ');
  assert.equal(checks.length, 5, tail);
  for (const check of checks) assert.deepEqual([check.figure, check.partial, check.agrees], [check.figure, false, true]);
  const results = lines('BENCH ');
  for (const name of ['ingest, index on (default)', 'ingest, index off']) {
    const result = results.find((candidate) => candidate.scenario === name);
    assert.ok(result?.events_per_s > 0 && result.details.cpu_us_per_event > 0 && result.details.bytes_per_event > 0, `${name}: ${JSON.stringify(result)}`);
  }
});
