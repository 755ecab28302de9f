/**
 * The reporter `npm test` ends with (test/support/skip-summary.mjs): its grouping, fed synthetic
 * reporter events, and then the real thing: `node --test` with package.json's own --test-reporter
 * flags on small fixture files, whose last line must be the summary and whose exit code stays node's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../harness/paths.js';
import { missingCommand, missingTool } from '../harness/tools.js';
import skipSummary, { groupOf, installCommand, SkipCollector, type ReporterEvent } from './support/skip-summary.mjs';

const hint = ` — install the tools with: ${installCommand()}`;

function pass(name: string, skip?: string | boolean, type: 'test' | 'suite' = 'test'): ReporterEvent {
  return { type: 'test:pass', data: { name, nesting: 0, details: { type, duration_ms: 1 }, ...(skip === undefined ? {} : { skip }) } };
}

function lineFor(events: readonly ReporterEvent[]): string {
  const collector = new SkipCollector();
  for (const event of events) collector.add(event);
  return collector.line();
}

describe('skip summary: grouping', () => {
  test('missing tools by name, first and most first, suites and tests counted apart, with the install command', () => {
    const nats = missingTool('nats-server');
    const line = lineFor([
      { type: 'test:enqueue', data: { name: 'ignored' } },
      pass('a cluster suite', nats, 'suite'),
      pass('another cluster suite', nats, 'suite'),
      pass('one cluster test', nats),
      pass('a tmpfs test', 'cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN; mount: permission denied)'),
      pass('another tmpfs test', 'cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN; the disk floor is not tested on this machine)'),
      pass('wrk scenario', missingTool('wrk', 'not on PATH, so run.ts --quick skips the wrk scenarios')),
      pass('wrk scenario 2', missingTool('wrk', 'not on PATH, so run.ts --quick skips the wrk scenarios')),
      pass('browser', missingTool('chromium', 'no /usr/bin/chromium'), 'suite'),
      pass('runs'),
      { type: 'test:fail', data: { name: 'failed but skipped', skip: 'no /dev/fuse (lazyfs is a FUSE file system)', details: { type: 'test' } } },
      pass('bare skip', true),
      pass('a passing suite', undefined, 'suite'),
      pass('a todo', undefined),
    ]);
    assert.equal(
      line,
      'skipped 7 tests and 3 suites: nats-server missing (2 suites, 1 test), wrk missing (2 tests), chromium missing (1 suite), ' +
        'cannot mount a tmpfs here (2 tests), no /dev/fuse (1 test), no reason given (1 test)' +
        hint,
    );
  });

  test('no install command when no skip is about a missing tool', () => {
    assert.equal(
      lineFor([pass('a', 'cannot make a network namespace with an ifb device (needs root and iproute2): RTNETLINK answers: Operation not permitted'), pass('b')]),
      'skipped 1 test: cannot make a network namespace with an ifb device (1 test)',
    );
    assert.equal(lineFor([pass('kernel', 'this kernel cannot turn an ext4 read-only under open files (no /sys/fs/ext4/loop3/trigger_fs_error)')]), 'skipped 1 test: this kernel cannot turn an ext4 read-only under open files (1 test)');
  });

  test('nothing skipped: how many tests ran (suites not counted)', () => {
    assert.equal(lineFor([pass('a'), pass('b'), pass('s', undefined, 'suite'), { type: 'test:fail', data: { name: 'c', details: { type: 'test' } } }]), 'all 3 tests ran, none skipped');
    assert.equal(lineFor([]), 'all 0 tests ran, none skipped');
  });

  test('only suites skipped: no "0 tests"', () => {
    assert.equal(lineFor([pass('s', missingTool('nats-server'), 'suite'), pass('t', missingTool('nats-server'), 'suite')]), `skipped 2 suites: nats-server missing (2 suites)${hint}`);
  });

  test('sudo only when not root', () => {
    assert.equal(installCommand(0), 'scripts/install-test-tools.sh');
    assert.equal(installCommand(1000), 'sudo scripts/install-test-tools.sh');
    const collector = new SkipCollector();
    collector.add(pass('x', missingTool('wrk')));
    assert.equal(collector.line({ uid: 1000 }), 'skipped 1 test: wrk missing (1 test) — install the tools with: sudo scripts/install-test-tools.sh');
  });

  test('a long reason without a separator is cut to a short label', () => {
    const { label, tool } = groupOf('x'.repeat(200));
    assert.equal(tool, null);
    assert.equal(label.length, 80);
    assert.ok(label.endsWith('…'));
  });

  test('the reasons harness/tools.ts gives are grouped by what they say', () => {
    assert.deepEqual(groupOf(missingCommand('no-such-tool-for-skip-summary')), { label: 'no-such-tool-for-skip-summary missing', tool: 'no-such-tool-for-skip-summary' });
    const failing = missingCommand('sh', ['-c', 'exit 3']);
    assert.match(failing!, /^sh -c exit 3 failed \(/);
    assert.deepEqual(groupOf(failing!), { label: 'sh -c exit 3 failed', tool: null });
    assert.equal(missingCommand('sh', ['-c', 'exit 0']), null);
  });

  test('a daemon in an sbin directory this PATH lacks is "not on PATH", which installing would not fix', (t) => {
    const daemon = ['nats-server', 'syslog-ng', 'ip', 'mkfs.ext4', 'findmnt', 'losetup'].find((command) => ['/usr/sbin', '/sbin'].some((dir) => existsSync(join(dir, command))));
    if (daemon === undefined) {
      t.skip('no known command in /usr/sbin or /sbin on this machine');
      return;
    }
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const reason = missingCommand(daemon);
      assert.match(reason!, new RegExp(`^${daemon.replace('.', '\\.')} is not on PATH \\(it is /(usr/)?sbin/`));
      assert.deepEqual(groupOf(reason!), { label: `${daemon} is not on PATH`, tool: null });
    } finally {
      process.env.PATH = path;
    }
  });

  test('the reporter reads every event and yields the one line, set apart by a blank line, at the end', async () => {
    async function* events(): AsyncGenerator<ReporterEvent> {
      yield pass('a', missingTool('wrk'));
      yield pass('b');
      yield { type: 'test:diagnostic', data: { message: 'tests 2' } };
    }
    const chunks: string[] = [];
    for await (const chunk of skipSummary(events())) chunks.push(chunk);
    assert.deepEqual(chunks, [`\nskipped 1 test: wrk missing (1 test)${hint}\n`]);
  });
});

/** package.json's test script's --test-reporter flags, as `npm test` passes them. */
function reporterFlags(): string[] {
  const script: string = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts.test;
  return script.split(/\s+/).filter((word) => word.startsWith('--test-reporter'));
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runFixture(name: string): Promise<Run> {
  // Without the outer runner's NODE_TEST_CONTEXT, the inner `node --test` reports as a top-level run.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const args = ['--import', 'tsx', '--test', '--test-concurrency=1', ...reporterFlags(), join('test/fixtures/skip-summary', name)];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lastLine(output: string): string {
  return output.trimEnd().split('\n').at(-1)!;
}

describe('skip summary: node --test with package.json\'s reporters', { timeout: 60_000 }, () => {
  test('package.json keeps spec on stdout and adds the summary, also on stdout', () => {
    assert.deepEqual(reporterFlags(), [
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=./test/support/skip-summary.mjs',
      '--test-reporter-destination=stdout',
    ]);
  });

  test('a skip for a missing tool: spec says why on the test, and the last line names the tool and the command; exit 0', async () => {
    const run = await runFixture('tool-skip.ts');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /drives a tool this machine lacks.*# frobnicator is not installed \(a fixture; scripts\/install-test-tools\.sh installs it\)/);
    assert.match(run.stdout, /ℹ skipped 1\n/);
    assert.equal(lastLine(run.stdout), `skipped 1 test: frobnicator missing (1 test)${hint}`);
  });

  test('a failing run still fails, and the summary comes after spec\'s list of failing tests', async () => {
    const run = await runFixture('failing.ts');
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const failing = run.stdout.lastIndexOf('failing tests:');
    const summary = run.stdout.lastIndexOf('skipped 1 test: ');
    assert.ok(failing > 0 && summary > failing, run.stdout);
    assert.equal(lastLine(run.stdout), 'skipped 1 test: cannot mount a tmpfs here (1 test)');
  });

  test('nothing skipped: the last line says how many ran', async () => {
    const run = await runFixture('all-run.ts');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(lastLine(run.stdout), 'all 2 tests ran, none skipped');
  });
});
