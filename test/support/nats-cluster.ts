/**
 * A real NATS JetStream cluster on 127.0.0.1 for the cluster tests: `count` nats-server processes
 * (Debian's 2.9.10, which `.ci/run` installs), each with free client, route and monitoring ports
 * and its own store dir, all tracked so a dying test file kills them. Ready once every node's
 * JetStream is up and the cluster has a meta leader.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { spawnTracked, stopChild, waitExit } from './children.js';
import { makeTempDir } from './temp-dirs.js';

export interface NatsNode {
  readonly name: string;
  /** nats://127.0.0.1:<client port> */
  readonly url: string;
  readonly monitorUrl: string;
  child: ChildProcess;
  /** kill -9; `start()` brings it back on the same ports and store. */
  crash(): Promise<void>;
  start(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL, comma-separated, as `--cluster` takes them. */
  readonly urls: string;
  /** The server name leading a stream's replicas, from a node's /jsz; null while there is none. */
  streamLeader(stream: string): Promise<string | null>;
  /** The same, waiting (up to 20 s) until the stream has a leader. */
  electedLeader(stream: string): Promise<string>;
  /** Waits (up to 30 s) until every node says its JetStream is current (`/healthz`): a restarted node has caught up. */
  current(): Promise<void>;
  /** How many messages this node's replica of a stream holds (its own /jsz); null when it has none or is down. */
  replicaMessages(node: NatsNode, stream: string): Promise<number | null>;
  stop(): Promise<void>;
}

/** Whether this machine has a nats-server binary; the reason to skip when not. */
export function missingNatsServer(): string | null {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'pipe' });
    return null;
  } catch {
    return 'nats-server is not installed (.ci/run installs Debian\'s nats-server)';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function getJson(url: string): Promise<any> {
  const answer = await fetch(url);
  if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
  return answer.json();
}

/** Until `probe` says yes (a probe that throws is a no: the node is not up yet). */
function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  return whenAnswered(async () => {
    if (!(await probe())) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }, timeoutMs);
}

export async function startNatsCluster(count = 3): Promise<NatsCluster> {
  const dir = await makeTempDir('nats-');
  const ports = await Promise.all(Array.from({ length: count }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
  const routes = ports.map((port) => `nats-route://127.0.0.1:${port.route}`).join(', ');
  const nodes: NatsNode[] = ports.map((port, index) => {
    const name = `n${index + 1}`;
    const config = join(dir, `${name}.conf`);
    writeFileSync(
      config,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${port.client}`,
        `http: 127.0.0.1:${port.monitor}`,
        `jetstream { store_dir: "${join(dir, name)}", max_memory_store: 64MB, max_file_store: 20GB }`,
        `cluster { name: agg, listen: 127.0.0.1:${port.route}, routes: [${routes}] }`,
      ].join('\n'),
    );
    const monitorUrl = `http://127.0.0.1:${port.monitor}`;
    const spawn = (): ChildProcess => spawnTracked('nats-server', ['-c', config], { stdio: 'ignore' });
    const node: NatsNode = {
      name,
      url: `nats://127.0.0.1:${port.client}`,
      monitorUrl,
      child: spawn(),
      async crash() {
        node.child.kill('SIGKILL');
        await waitExit(node.child, 5000);
      },
      async start() {
        node.child = spawn();
        await waitUntil(async () => (await fetch(`${monitorUrl}/healthz?js-enabled-only=true`)).ok, `${name} to come back`, 15_000);
      },
      pause: () => void node.child.kill('SIGSTOP'),
      resume: () => void node.child.kill('SIGCONT'),
    };
    return node;
  });
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((node) => node.url).join(','),
    async streamLeader(stream) {
      for (const node of nodes) {
        try {
          const jsz = await getJson(`${node.monitorUrl}/jsz?streams=true&accounts=true`);
          for (const account of jsz.account_details ?? []) {
            for (const detail of account.stream_detail ?? []) if (detail.name === stream && detail.cluster?.leader) return detail.cluster.leader as string;
          }
        } catch {
          // a dead or paused node: ask the next
        }
      }
      return null;
    },
    electedLeader(stream) {
      return whenAnswered(async () => {
        const leader = await cluster.streamLeader(stream);
        if (leader === null) throw new Error(`${stream} has no leader yet`);
        return leader;
      });
    },
    async replicaMessages(node, stream) {
      try {
        const jsz = await getJson(`${node.monitorUrl}/jsz?streams=true&accounts=true`);
        for (const account of jsz.account_details ?? []) {
          for (const detail of account.stream_detail ?? []) if (detail.name === stream) return detail.state?.messages ?? null;
        }
      } catch {
        // down or paused
      }
      return null;
    },
    async current() {
      for (const node of nodes) await waitUntil(async () => (await fetch(`${node.monitorUrl}/healthz`).catch(() => null))?.ok === true, `${node.name} to be current`, 30_000);
    },
    async stop() {
      for (const node of nodes) {
        node.resume();
        await stopChild(node.child, 5000);
      }
    },
  };
  try {
    for (const node of nodes) await waitUntil(async () => (await fetch(`${node.monitorUrl}/healthz?js-enabled-only=true`)).ok, `${node.name} to serve JetStream`, 15_000);
    await waitUntil(async () => Boolean((await getJson(`${nodes[0]!.monitorUrl}/jsz`)).meta_cluster?.leader), 'a JetStream meta leader', 15_000);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/**
 * Runs a JetStream API call until it answers: right after a failover the stream's new leader may
 * not answer management requests for a few seconds (the elections of cluster.md §3), which is not
 * what a test is about.
 */
export async function whenAnswered<T>(call: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
