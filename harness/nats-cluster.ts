/**
 * A real NATS JetStream cluster on 127.0.0.1 for the cluster tests and benches: `count`
 * nats-server processes (Debian's 2.9.10, which scripts/install-test-tools.sh installs), each
 * with free client, route and monitoring ports and its own store dir, all tracked so a dying test
 * file kills them. Ready once every node's JetStream is up and the cluster has a meta leader.
 */
import { type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnTracked, stopChild, waitExit, type ControlledProcess } from './children.js';
import { freePort } from './ports.js';
import { makeTempDir } from './temp-dirs.js';
import { missingCommand } from './tools.js';
import { pollUntil, waitFor, WaitTimeoutError } from './wait.js';

/** Between two probes of a node or two JetStream API calls while a leader is being elected: no need to ask more often. */
const kAnswerRetryMs = 200;

/** Where one NATS node runs: by default all on 127.0.0.1 in this network namespace. */
export interface NatsPlacement {
  /** The address its client and route listeners bind, and its URL names. */
  readonly host?: string;
  /** The address its monitoring listener binds (the test's probes go there). */
  readonly monitorHost?: string;
  /** A command prefix to run nats-server under, e.g. ['ip', 'netns', 'exec', ns]. */
  readonly wrap?: readonly string[];
}

export interface NatsNode extends ControlledProcess {
  readonly name: string;
  /** nats://<host>:<client port> */
  readonly url: string;
  readonly monitorUrl: string;
  child: ChildProcess;
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

/** Whether this machine has a nats-server binary on PATH; the reason to skip when not (harness/tools.ts's form). */
export function missingNatsServer(): string | null {
  return missingCommand('nats-server');
}


async function getJson(url: string): Promise<any> {
  const answer = await fetch(url);
  if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
  return answer.json();
}

/** Until `probe` says yes (a probe that throws is a no: the node is not up yet). */
function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  return waitFor(() => probe().catch(() => false), what, { timeoutMs, intervalMs: kAnswerRetryMs });
}

/**
 * `placement(index)` puts a node elsewhere (another address, a network namespace: netns.ts). A
 * cluster that does not come up is stopped and started once more on fresh ports: a port found free
 * can be taken by another process before the server binds it (seen once in a full run: one server
 * never served JetStream).
 */
export async function startNatsCluster(count = 3, placement: (index: number) => NatsPlacement = () => ({})): Promise<NatsCluster> {
  try {
    return await startNatsClusterOnce(count, placement);
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    return startNatsClusterOnce(count, placement);
  }
}

async function startNatsClusterOnce(count: number, placement: (index: number) => NatsPlacement): Promise<NatsCluster> {
  const dir = await makeTempDir('nats-');
  // A port free on 127.0.0.1 is as good as free on a test's own fresh addresses.
  const ports = await Promise.all(Array.from({ length: count }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
  const places = ports.map((_, index) => ({ host: '127.0.0.1', monitorHost: '127.0.0.1', wrap: [] as readonly string[], ...placement(index) }));
  const routes = ports.map((port, index) => `nats-route://${places[index]!.host}:${port.route}`).join(', ');
  const nodes: NatsNode[] = ports.map((port, index) => {
    const name = `n${index + 1}`;
    const { host, monitorHost, wrap } = places[index]!;
    const config = join(dir, `${name}.conf`);
    writeFileSync(
      config,
      [
        `server_name: ${name}`,
        `listen: ${host}:${port.client}`,
        `http: ${monitorHost}:${port.monitor}`,
        `jetstream { store_dir: "${join(dir, name)}", max_memory_store: 64MB, max_file_store: 20GB }`,
        `cluster { name: agg, listen: ${host}:${port.route}, routes: [${routes}] }`,
      ].join('\n'),
    );
    const monitorUrl = `http://${monitorHost}:${port.monitor}`;
    const command = [...wrap, 'nats-server', '-c', config];
    const spawn = (): ChildProcess => spawnTracked(command[0]!, command.slice(1), { stdio: 'ignore' });
    const node: NatsNode = {
      name,
      url: `nats://${host}:${port.client}`,
      monitorUrl,
      child: spawn(),
      async crash() {
        node.child.kill('SIGKILL');
        await waitExit(node.child, 5000);
      },
      async stop() {
        await stopChild(node.child, 15_000);
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
 * what a test is about. Past `timeoutMs` it throws the call's last error.
 */
export async function whenAnswered<T>(call: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  let failure: unknown;
  try {
    const answer = await pollUntil(
      async () => {
        try {
          return { value: await call() };
        } catch (error) {
          failure = error;
          return undefined;
        }
      },
      'a JetStream answer',
      { timeoutMs, intervalMs: kAnswerRetryMs },
    );
    return answer.value;
  } catch (error) {
    throw error instanceof WaitTimeoutError ? failure : error;
  }
}

/** A stream's first and last positions, from the first NATS node whose monitoring endpoint knows it. */
export async function logExtent(nats: NatsCluster, stream: string): Promise<{ first: number; last: number; messages: number; bytes: number }> {
  for (const node of nats.nodes) {
    try {
      const jsz = (await (await fetch(`${node.monitorUrl}/jsz?streams=true&accounts=true`)).json()) as { account_details?: { stream_detail?: { name: string; state: { first_seq: number; last_seq: number; messages: number; bytes: number } }[] }[] };
      for (const account of jsz.account_details ?? []) {
        for (const detail of account.stream_detail ?? []) if (detail.name === stream) return { first: detail.state.first_seq, last: detail.state.last_seq, messages: detail.state.messages, bytes: detail.state.bytes };
      }
    } catch {
      // a node that is down or paused: ask the next
    }
  }
  throw new Error(`no NATS node knows stream ${stream}`);
}
