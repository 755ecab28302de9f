import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { resolvePublisherOptions } from '../src/publisher/options.js';
import { runPublisher } from '../src/publisher/run.js';
import { allEvents, runNode, startServer, stats, type Run } from './helper.js';

const publisherFile = fileURLToPath(new URL('../dist/publisher.js', import.meta.url));

/** Runs the built CLI to completion; killed (and failing the test) if it hangs. */
function runCli(args: readonly string[], timeoutMs = 20_000): Promise<Run> {
  return runNode([publisherFile, ...args], { timeoutMs });
}

function jsonLine(run: Run): any {
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints exactly one line on stdout, got: ${run.stdout}`);
  return JSON.parse(lines[0]!);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('publisher CLI (dist/publisher.js)', () => {
  test('--json --verify against a real server, then the same seed and run id again: all duplicates', async () => {
    const server = await startServer({ shards: 2 });
    const first = await runCli(['--url', server.url, '--events', '2000', '--json', '--verify', '--seed', '7']);
    assert.equal(first.code, 0, first.stderr);
    const report = jsonLine(first);
    assert.equal(report.ok, true);
    assert.equal(report.error, null);
    assert.equal(report.events_sent, 2000);
    assert.equal(report.events_acknowledged, 2000);
    assert.equal(report.unique + report.duplicates, 2000);
    assert.equal(report.unique, report.expected_unique);
    assert.equal(report.duplicates, report.expected_duplicates);
    assert.ok(report.expected_duplicates > 300 && report.expected_duplicates < 500, `about 20 %: ${report.expected_duplicates}`);
    assert.equal(report.verify.ok, true);
    assert.deepEqual(report.verify.actual, { received: 2000, unique_processed: report.unique, duplicate_dropped: report.duplicates });
    assert.ok(report.requests >= 1 && typeof report.latency_ms.p50 === 'number' && typeof report.latency_ms.p99 === 'number');
    assert.ok(report.latency_ms.p50 <= report.latency_ms.p99);
    assert.match(report.run_id, /^r7-/, 'the default run id is derived from the seed');

    const again = await runCli(['--url', server.url, '--events', '2000', '--json', '--seed', '7', '--run-id', report.run_id, '--format', 'msgpack']);
    assert.equal(again.code, 0, again.stderr);
    const replay = jsonLine(again);
    assert.equal(replay.events_acknowledged, 2000);
    assert.equal(replay.unique, 0, 'a replayed run stores nothing new');
    assert.equal(replay.duplicates, 2000);

    const final = await stats(server.url);
    assert.equal(final.received, 4000);
    assert.equal(final.unique_processed, report.unique);
  });

  test('--verify on a replay reports the mismatch and exits 1', async () => {
    const server = await startServer({ shards: 1 });
    const args = ['--url', server.url, '--events', '300', '--seed', '3', '--run-id', 'same', '--progress', 'off'];
    assert.equal((await runCli(args)).code, 0);
    const replay = await runCli([...args, '--verify']);
    assert.equal(replay.code, 1);
    assert.match(replay.stdout, /verify\s+MISMATCH: .*unique_processed \+0 \(expected \d+\) ≠/);
    assert.match(replay.stderr, /error: verify_mismatch: /);
  });

  test('a closed port with --max-retries 2 exits 1 and says why', async () => {
    const port = await closedPort();
    const run = await runCli(['--url', `http://127.0.0.1:${port}`, '--max-retries', '2', '--events', '50']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /error: retries_exhausted: request \d+ of \d+ .*failed after 3 attempt\(s\); last: .*ECONNREFUSED/);
    assert.match(run.stdout, /FAILED \(retries_exhausted\)/);
  });

  test('--help lists every option with its default; a bad option is refused by name', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const flag of ['url', 'events', 'duplicate-ratio', 'topics', 'mode', 'batch-size', 'concurrency', 'format', 'seed', 'run-id', 'max-retries', 'timeout-ms', 'progress', 'json', 'verify']) {
      assert.match(help.stdout, new RegExp(`--${flag}\\s.*\\(default [^)]+\\)`), flag);
    }
    const bad = await runCli(['--mode', 'burst']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--mode must be one of "single", "batch", "mix", got "burst"/);
  });
});

describe('the publisher (runPublisher) against a real aggregator', () => {
  test('a tiny ring under high concurrency: every event acknowledged, /stats exact', async () => {
    const server = await startServer({ shards: 2, args: ['--ring-bytes', '65536', '--retry-after', '1'] });
    const options = resolvePublisherOptions({
      url: server.url, events: 6000, mode: 'batch', batchSize: 200, concurrency: 32, seed: 11, runId: 'tiny-ring', progress: 'off', verify: true,
    });
    const report = await runPublisher(options);
    assert.equal(report.error, null, JSON.stringify(report.error));
    assert.equal(report.ok, true);
    assert.equal(report.events_acknowledged, 6000);
    assert.equal(report.unique, report.expected_unique);
    assert.equal(report.duplicates, report.expected_duplicates);
    assert.equal(report.requests, 30 + report.retries);
    assert.equal(report.verify?.ok, true);

    const final = await stats(server.url);
    assert.equal(final.received, 6000);
    assert.equal(final.unique_processed, report.expected_unique);
    assert.equal(final.duplicate_dropped, report.expected_duplicates);
    assert.equal((await allEvents(server.url)).length, report.expected_unique);
  });
});
