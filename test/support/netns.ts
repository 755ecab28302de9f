/**
 * A network partition for the cluster tests, made of real Linux network namespaces (iproute2
 * only: this machine has no iptables or nft, and no netem, gact or dummy modules, but it has veth
 * and ifb). One namespace per run, joined to the root namespace by one veth pair, with two
 * address pairs on the link so the test's own traffic and the NATS traffic are routed apart:
 *
 *   root side                                  namespace side
 *   testHost   ⇄ (test → B's HTTP, monitors) ⇄  nsHost      never cut
 *   natsHost   ⇄ (NATS clients and routes)   ⇄  nsNatsHost  cut by cut(), restored by heal()
 *
 * A cut sends both directions of the NATS pair into an ifb device, which drops what it is given
 * without a word: no RST, no ICMP, no local error, as a partition in a real network looks (a
 * blackhole or prohibit route would fail the sender at once, which nats.js would notice early).
 *
 * Names carry this process's pid and the addresses are derived from it (10.200.0.0/14, four a
 * run), so concurrent test files never share either; `remove()` undoes everything.
 */
import { execFileSync } from 'node:child_process';
import { missingCommand } from '../../harness/tools.js';

export interface Partition {
  readonly ns: string;
  /** Prefix that runs a command inside the namespace: ['ip', 'netns', 'exec', ns]. */
  readonly wrap: readonly string[];
  /** The root side's address for the test's own traffic into the namespace. */
  readonly testHost: string;
  /** The root side's address for NATS (listeners of the root NATS nodes). */
  readonly natsHost: string;
  /** The namespace's address the test reaches (a node's HTTP, a NATS monitor): never cut. */
  readonly nsHost: string;
  /** The namespace's address for NATS (its clients' source, its NATS node's listeners): cut. */
  readonly nsNatsHost: string;
  cut(): void;
  heal(): void;
  remove(): void;
}

function ip(args: readonly string[], ns?: string): void {
  execFileSync('ip', ns ? ['netns', 'exec', ns, 'ip', ...args] : args, { stdio: 'pipe' });
}

function quietly(run: () => void): void {
  try {
    run();
  } catch {
    // already gone
  }
}

/** Why a partition cannot be made here (not root, no `ip netns`), or null when it can: the reason to skip. */
export function missingNetns(): string | null {
  const noIp = missingCommand('ip', ['-V']);
  if (noIp !== null) return noIp;
  const probe = `aggprobe${process.pid}`;
  try {
    ip(['netns', 'add', probe]);
    ip(['link', 'add', `${probe}i`.slice(0, 15), 'type', 'ifb'], probe);
    return null;
  } catch (error) {
    return `cannot make a network namespace with an ifb device (needs root and iproute2): ${(error as Error).message.split('\n')[0]}`;
  } finally {
    quietly(() => ip(['netns', 'del', probe]));
  }
}

export function createPartition(): Partition {
  const id = process.pid % 65536;
  const ns = `aggpart${id}`;
  const rootVeth = `agp${id}r`;
  const nsVeth = `agp${id}n`;
  const rootSink = `agp${id}i`;
  const nsSink = 'cut0';
  // Four addresses per pid in 10.200.0.0/14.
  const base = (10 << 24) + (200 << 16) + id * 4;
  const address = (offset: number): string => [24, 16, 8, 0].map((shift) => ((base + offset) >>> shift) & 255).join('.');
  const [testHost, natsHost, nsHost, nsNatsHost] = [0, 1, 2, 3].map(address) as [string, string, string, string];
  const remove = (): void => {
    // Deleting the namespace takes its veth end, and with it the peer; the root sink goes by name.
    quietly(() => ip(['netns', 'del', ns]));
    quietly(() => ip(['link', 'del', rootVeth]));
    quietly(() => ip(['link', 'del', rootSink]));
  };
  try {
    ip(['netns', 'add', ns]);
    ip(['link', 'add', rootVeth, 'type', 'veth', 'peer', 'name', nsVeth]);
    ip(['link', 'set', nsVeth, 'netns', ns]);
    ip(['link', 'add', rootSink, 'type', 'ifb']);
    ip(['link', 'set', rootSink, 'up']);
    ip(['addr', 'add', `${testHost}/32`, 'dev', rootVeth]);
    ip(['addr', 'add', `${natsHost}/32`, 'dev', rootVeth]);
    ip(['link', 'set', rootVeth, 'up']);
    // Local traffic inside the namespace (a node to its own NATS server) goes over its loopback.
    ip(['link', 'set', 'lo', 'up'], ns);
    ip(['addr', 'add', `${nsHost}/32`, 'dev', nsVeth], ns);
    ip(['addr', 'add', `${nsNatsHost}/32`, 'dev', nsVeth], ns);
    ip(['link', 'set', nsVeth, 'up'], ns);
    ip(['link', 'add', nsSink, 'type', 'ifb'], ns);
    ip(['link', 'set', nsSink, 'up'], ns);
    // Host routes with a source address each, so a connection opened either way stays in its pair.
    ip(['route', 'add', `${nsHost}/32`, 'dev', rootVeth, 'src', testHost]);
    ip(['route', 'add', `${testHost}/32`, 'dev', nsVeth, 'src', nsHost], ns);
  } catch (error) {
    remove();
    throw error;
  }
  const natsRoutes = (cut: boolean): void => {
    ip(['route', 'replace', `${nsNatsHost}/32`, 'dev', cut ? rootSink : rootVeth, ...(cut ? [] : ['src', natsHost])]);
    ip(['route', 'replace', `${natsHost}/32`, 'dev', cut ? nsSink : nsVeth, ...(cut ? [] : ['src', nsNatsHost])], ns);
  };
  try {
    natsRoutes(false);
  } catch (error) {
    remove();
    throw error;
  }
  return { ns, wrap: ['ip', 'netns', 'exec', ns], testHost, natsHost, nsHost, nsNatsHost, cut: () => natsRoutes(true), heal: () => natsRoutes(false), remove };
}
