/**
 * What can be checked without a Docker engine: the Dockerfiles and compose files refer to things that
 * exist and fit together (compose.cluster.yml with docker/nats.Dockerfile and docker/nats.conf, which
 * nats-server itself checks when installed), and the production install (npm ci --omit=dev plus the
 * built dist/) starts the service from a clean copy. The files' behaviour on a real engine (the image
 * built and run, compose.yml and compose.cluster.yml brought up and checked over HTTP) is
 * .ci/docker.sh's, which .ci/run runs after this suite.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cp, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { getJson, missingNatsServer, startServer, makeTempDir } from './helper.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const exists = async (path: string) => stat(join(root, path)).then(() => true, () => false);

// Read as text here, fast and engine-free; .ci/docker.sh builds the image and runs it.
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
    // Extra CA certificates for npm ci come as an optional BuildKit secret, in the build stage only.
    const [buildStage, runStage] = dockerfile.split(/^FROM node:20-bookworm-slim$/m);
    assert.match(buildStage!, /^RUN --mount=type=secret,id=ca-certificates\b(?![^\n]*required=true)[\s\S]*?npm ci/m);
    assert.doesNotMatch(runStage!, /secret|ca-certificates|NODE_EXTRA_CA_CERTS/);
    assert.doesNotMatch(dockerfile, /^(ARG|ENV)\b[^\n]*\b(NODE_EXTRA_CA_CERTS|npm_config_cafile|npm_config_ca)\b/mi, 'no CA in a build arg or the environment');
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
    // The host port: 8080 unless AGGREGATOR_PORT says otherwise (.ci/docker.sh picks a free one).
    assert.deepEqual(aggregator.ports, ['${AGGREGATOR_PORT:-8080}:8080']);
    assert.deepEqual(aggregator.volumes, ['aggregator-data:/data']);
    assert.ok('aggregator-data' in compose.volumes);
    assert.match(aggregator.healthcheck.test.join(' '), /\/health/);
    assert.equal(aggregator.restart, 'unless-stopped');
    assert.equal(publisher.depends_on.aggregator.condition, 'service_healthy');
    assert.equal(publisher.restart, 'no');
    assert.equal(publisher.command[1], 'dist/publisher.js');
    assert.ok(await exists(publisher.command[1]), 'the publisher entry is built');
    assert.ok(publisher.command.includes('--verify'));
    // The image's VOLUME /data: a tmpfs there, or each run leaves an anonymous volume behind.
    assert.equal(publisher.tmpfs, '/data');
  });
});

/** The text between `<name> {` and its matching `}` in a NATS config (nats-server's own syntax, not YAML). */
function natsBlock(text: string, name: string): string {
  const open = new RegExp(`^\\s*${name}\\s*\\{`, 'm').exec(text);
  assert.ok(open, `the NATS config has a ${name} { } block`);
  let depth = 1;
  for (let at = open.index + open[0].length; at < text.length; at++) {
    if (text[at] === '{') depth++;
    else if (text[at] === '}' && --depth === 0) return text.slice(open.index + open[0].length, at);
  }
  assert.fail(`the ${name} block is not closed`);
}

/** One `key: value` of a NATS config (or of one of its blocks), quotes removed. */
function natsValue(text: string, key: string): string {
  const match = new RegExp(`^\\s*${key}\\s*[:=]\\s*"?([^"\\s]+)"?\\s*$`, 'm').exec(text);
  assert.ok(match, `the NATS config sets ${key}`);
  return match[1]!;
}

const portOf = (address: string): number => Number(/:(\d+)$/.exec(address)![1]);

// Like compose.yml, read as data here; .ci/docker.sh brings it up on a real engine.
describe('compose.cluster.yml', async () => {
  // Merge keys: the NATS and aggregator services share their settings through YAML anchors.
  const compose = parse(await readFile(join(root, 'compose.cluster.yml'), 'utf8'), { merge: true });
  const services: Record<string, any> = compose.services;
  const natsNames = ['nats-1', 'nats-2', 'nats-3'];
  const aggregatorNames = ['aggregator-a', 'aggregator-b'];
  const publisherNames = ['publisher-a', 'publisher-b'];
  const natsDockerfile = await readFile(join(root, 'docker/nats.Dockerfile'), 'utf8');
  // Comments out: the text is what nats-server reads.
  const natsConfig = (await readFile(join(root, 'docker/nats.conf'), 'utf8')).replace(/^\s*(#|\/\/).*$/gm, '');
  const volumeOf = (service: any): { name: string; target: string } => {
    assert.equal(service.volumes.length, 1);
    const [name, target] = (service.volumes[0] as string).split(':');
    return { name: name!, target: target! };
  };

  test('has three NATS nodes, two aggregators and two publishers, each with a restart policy', () => {
    assert.deepEqual(Object.keys(services).sort(), [...aggregatorNames, ...natsNames, ...publisherNames].sort());
    for (const name of [...natsNames, ...aggregatorNames]) assert.equal(services[name].restart, 'unless-stopped', name);
    for (const name of publisherNames) assert.equal(services[name].restart, 'no', name);
  });

  test('every NATS node runs the image of docker/nats.Dockerfile: Debian\'s nats-server 2.9.10, non-root, with the healthcheck\'s tool', async () => {
    for (const name of natsNames) {
      const nats = services[name];
      assert.deepEqual(nats.build, { context: './docker', dockerfile: 'nats.Dockerfile' }, name);
      assert.equal(nats.image, services['nats-1'].image);
    }
    assert.deepEqual([...natsDockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]), ['debian:bookworm-slim']);
    const install = /apt-get install (.+)/.exec(natsDockerfile)?.[1] ?? '';
    assert.match(install, /--no-install-recommends/);
    assert.match(install, /'nats-server=2\.9\.10-\*'/, 'the version the cluster tests run');
    assert.match(install, /\bwget\b/, 'the healthcheck runs wget: the image installs it');
    assert.match(natsDockerfile, /^USER nats$/m, 'the nats user the Debian package makes');
    assert.match(natsDockerfile, /chown nats:nats \/data/);
    assert.match(natsDockerfile, /^VOLUME \["\/data"\]$/m);
    for (const match of natsDockerfile.matchAll(/^COPY (?!--from)(.+) (\S+)$/gm)) {
      for (const source of match[1]!.split(/\s+/)) assert.ok(await exists(join('docker', source)), `COPY source docker/${source} is missing`);
    }
    const copied = /^COPY nats\.conf (\S+)$/m.exec(natsDockerfile)?.[1];
    assert.ok(copied, 'the image carries docker/nats.conf');
    assert.deepEqual(JSON.parse(/^CMD (.+)$/m.exec(natsDockerfile)![1]!), ['nats-server', '-c', copied]);
  });

  test('the NATS config declares JetStream on the volume, the client and monitoring ports, and routes to the three nodes', () => {
    const jetstream = natsBlock(natsConfig, 'jetstream');
    const storeDir = natsValue(jetstream, 'store_dir');
    const cluster = natsBlock(natsConfig, 'cluster');
    const routes = [...cluster.matchAll(/nats-route:\/\/([\w.-]+):(\d+)/g)];
    assert.deepEqual(routes.map((route) => route[1]).sort(), natsNames, 'a route to every NATS service (a node skips its own)');
    const routePort = portOf(natsValue(cluster, 'listen'));
    for (const route of routes) assert.equal(Number(route[2]), routePort);
    // Top-level keys only: the blocks' own listen lines out.
    const topLevel = natsConfig.replace(jetstream, '').replace(cluster, '');
    const clientPort = portOf(natsValue(topLevel, 'listen'));
    const monitorPort = portOf(natsValue(topLevel, 'http'));
    for (const name of natsNames) {
      const nats = services[name];
      assert.equal(volumeOf(nats).target, storeDir, `${name}: the JetStream store is on its volume`);
      assert.match(nats.healthcheck.test.join(' '), new RegExp(`^CMD wget .*http://127\\.0\\.0\\.1:${monitorPort}/healthz$`), name);
    }
    for (const name of aggregatorNames) {
      for (const url of services[name].environment.CLUSTER.split(',')) assert.equal(portOf(url), clientPort, `${name}: ${url}`);
    }
  });

  test('every NATS node has its own server_name, through the one config', () => {
    const serverName = natsValue(natsConfig, 'server_name');
    const variable = /^\$(\w+)$/.exec(serverName)?.[1];
    assert.ok(variable, `server_name comes from the environment: ${serverName}`);
    const names = natsNames.map((name) => services[name].environment[variable]);
    assert.deepEqual(names, natsNames, 'each node is named after its service');
    assert.equal(new Set(names).size, natsNames.length);
  });

  test('nats-server accepts the config with each node\'s environment', { skip: missingNatsServer() ?? false }, () => {
    for (const name of natsNames) {
      const check = spawnSync('nats-server', ['-t', '-c', join(root, 'docker/nats.conf')], { env: { ...process.env, ...services[name].environment }, encoding: 'utf8' });
      assert.equal(check.status, 0, `${name}: ${check.stdout}${check.stderr}`);
    }
  });

  test('each aggregator lists the three NATS nodes, has its own NODE_ID, host port and volume, and starts once NATS is healthy', () => {
    const image = services['aggregator-a'].image;
    assert.equal(services['aggregator-a'].build, '.', 'the project\'s Dockerfile');
    assert.deepEqual(aggregatorNames.map((name) => services[name].ports), [['${AGGREGATOR_A_PORT:-8080}:8080'], ['${AGGREGATOR_B_PORT:-8081}:8080']]);
    assert.equal(new Set(aggregatorNames.map((name) => services[name].environment.NODE_ID)).size, aggregatorNames.length);
    assert.equal(new Set(aggregatorNames.map((name) => services[name].environment.SHARDS)).size, 1, 'the shard count is the cluster\'s');
    for (const name of aggregatorNames) {
      const aggregator = services[name];
      assert.equal(aggregator.image, image);
      const nats = (aggregator.environment.CLUSTER as string).split(',').map((url) => /^nats:\/\/([\w.-]+):\d+$/.exec(url)?.[1]);
      assert.deepEqual(nats.sort(), natsNames, `${name}: CLUSTER`);
      for (const node of natsNames) assert.equal(aggregator.depends_on[node]?.condition, 'service_healthy', `${name} waits for ${node}`);
      assert.equal(volumeOf(aggregator).target, aggregator.environment.DATA_DIR);
      assert.match(aggregator.healthcheck.test.join(' '), /http:\/\/127\.0\.0\.1:8080\/health'/);
    }
    // The first node makes the shard streams alone, as in the tests.
    assert.equal(services['aggregator-b'].depends_on['aggregator-a']?.condition, 'service_healthy');
  });

  test('every node has a named volume of its own, all declared', () => {
    const used = [...natsNames, ...aggregatorNames].map((name) => volumeOf(services[name]).name);
    assert.equal(new Set(used).size, used.length, 'no two nodes share a volume');
    assert.deepEqual(Object.keys(compose.volumes).sort(), [...used].sort());
  });

  test('the publishers run --verify against both aggregators, one after the other', async () => {
    const urls: string[] = [];
    for (const name of publisherNames) {
      const publisher = services[name];
      assert.equal(publisher.image, services['aggregator-a'].image);
      assert.deepEqual(publisher.command.slice(0, 2), ['node', 'dist/publisher.js']);
      assert.ok(await exists(publisher.command[1]), 'the publisher entry is built');
      assert.ok(publisher.command.includes('--verify'), name);
      assert.equal(publisher.tmpfs, '/data', `${name}: no anonymous volume for the image's VOLUME /data`);
      const url = publisher.command[publisher.command.indexOf('--url') + 1] as string;
      const target = /^http:\/\/([\w.-]+):8080$/.exec(url)?.[1];
      assert.ok(target && aggregatorNames.includes(target), `${name} --url ${url}`);
      assert.equal(publisher.depends_on[target].condition, 'service_healthy', `${name} waits for ${target}`);
      urls.push(target);
    }
    assert.deepEqual(urls.sort(), aggregatorNames);
    // --verify assumes no other publisher, and every node's /stats counts the whole cluster.
    assert.equal(services['publisher-b'].depends_on['publisher-a']?.condition, 'service_completed_successfully');
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
