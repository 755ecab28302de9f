/**
 * No Docker engine runs on our machines, so this checks what can be checked without one: the
 * Dockerfile and compose file refer to things that exist, and the production install (npm ci
 * --omit=dev plus the built dist/) starts the service from a clean copy.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { getJson, startServer, makeTempDir } from './helper.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const exists = async (path: string) => stat(join(root, path)).then(() => true, () => false);

// The Dockerfile and compose.yml tests read the files as text: without a Docker engine (none runs
// in CI) there is no behaviour to test. Once one does, build the image and run it instead.
describe('Dockerfile', () => {
  test('is multi-stage, non-root, with a volume, a port, a healthcheck and SIGTERM, and copies files that exist', async () => {
    const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    assert.deepEqual(froms, ['node:20-bookworm', 'node:20-bookworm-slim']);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^VOLUME \["\/data"\]$/m);
    assert.match(dockerfile, /^EXPOSE 8080$/m);
    assert.match(dockerfile, /^STOPSIGNAL SIGTERM$/m);
    assert.match(dockerfile, /HEALTHCHECK[\s\S]*\/health/);
    assert.match(dockerfile, /npm ci/);
    assert.match(dockerfile, /npm prune --omit=dev/);
    for (const match of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of match[1]!.split(/\s+/)) assert.ok(await exists(source), `COPY source ${source} is missing`);
    }
    const command = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]!) as string[];
    assert.deepEqual(command, ['node', 'dist/main.js']);
    assert.ok(await exists('dist/main.js'), 'the build produces the CMD entry');
    const ignored = await readFile(join(root, '.dockerignore'), 'utf8');
    for (const entry of ['node_modules', 'dist', 'data']) assert.match(ignored, new RegExp(`^${entry}$`, 'm'));
  });
});

describe('compose.yml', () => {
  test('runs the aggregator with a volume and healthcheck, and a publisher once it is healthy', async () => {
    const compose = parse(await readFile(join(root, 'compose.yml'), 'utf8'));
    assert.deepEqual(Object.keys(compose.services).sort(), ['aggregator', 'publisher']);
    const { aggregator, publisher } = compose.services;
    assert.deepEqual(aggregator.ports, ['8080:8080']);
    assert.deepEqual(aggregator.volumes, ['aggregator-data:/data']);
    assert.ok('aggregator-data' in compose.volumes);
    assert.match(aggregator.healthcheck.test.join(' '), /\/health/);
    assert.equal(aggregator.restart, 'unless-stopped');
    assert.equal(publisher.depends_on.aggregator.condition, 'service_healthy');
    assert.equal(publisher.restart, 'no');
    assert.equal(publisher.command[1], 'dist/publisher.js');
    assert.ok(await exists(publisher.command[1]), 'the publisher entry is built');
    assert.ok(publisher.command.includes('--verify'));
  });
});

describe('production install', () => {
  test('npm ci --omit=dev plus dist/ starts the service from a clean copy', { timeout: 600_000 }, async () => {
    const copy = await makeTempDir('aggregator-prod-');
    // What a package or the image carries: the manifest, the lock file, the build and the npm scripts' helpers.
    for (const file of ['package.json', 'package-lock.json']) await cp(join(root, file), join(copy, file));
    await cp(join(root, 'scripts'), join(copy, 'scripts'), { recursive: true });
    await cp(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
    const install = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: copy, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => resolve({ code, output }));
    });
    assert.equal(install.code, 0, install.output);
    assert.ok(!(await stat(join(copy, 'node_modules/typescript')).then(() => true, () => false)), 'dev dependencies are not installed');
    const server = await startServer({ shards: 2, entry: join(copy, 'dist/main.js') });
    assert.deepEqual((await getJson(`${server.url}/health`)).body, { status: 'ok' });
    await server.stop();
  });
});
