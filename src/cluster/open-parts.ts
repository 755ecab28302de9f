/**
 * Opening a cluster node (engine.ts builds on what this returns): the NATS connection, the
 * streams and buckets, the local core, this node's place in the live set, and its replicas of the
 * shards placement gives it, each replayed to the end its stream had at start.
 */
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { ConfigError } from '../errors.js';
import { LocalShards, type EngineHooks } from '../local/local-shards.js';
import type { Config } from '../config.js';
import { Frontier } from './frontier.js';
import { Leases, openLeaseBucket } from './leases.js';
import { Membership } from './membership.js';
import { shardsToHold } from './placement.js';
import { Replicas } from './replicas.js';
import { SnapshotStore } from './snapshot-store.js';
import { checkShardCount, ensureStreams } from './streams.js';
import { StreamPublisher } from './stream-publisher.js';
import { VerdictBoard } from './verdicts.js';
import { VerdictRelay } from './verdict-relay.js';

export type ClusterConfig = Pick<
  Config,
  'dataDir' | 'shards' | 'ringBytes' | 'drainBytes' | 'shardRetryMs' | 'readers' | 'minFreeBytes' | 'retention' | 'retentionBytes' | 'indexFields' | 'forgetAfter' | 'searchIndex' | 'cluster' | 'nodeId' | 'replicas' | 'holdShards' | 'streamReplicas' | 'leaseTtlMs' | 'snapshotIntervalMs'
>;


/** A publish is retried with its id until this long (the streams' duplicate window is 2 min). */
export const kPublishDeadlineMs = 20_000;
/** How long a node that appears must stay before placement counts it. */
const kJoinSettleMs = 2000;

/** What the engine is built from: everything opening a node had to wait for. */
export interface OpenedParts {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly local: LocalShards;
  readonly replicas: Replicas;
  readonly frontier: Frontier;
  readonly board: VerdictBoard;
  readonly leases: Leases;
  readonly snapshots: SnapshotStore;
  readonly publisher: StreamPublisher;
  readonly relay: VerdictRelay;
  readonly membership: Membership;
  /** The replicas this node started empty at open (a node joining), and how long they took to catch up. */
  readonly initial: { readonly copied: readonly number[]; readonly seconds: number };
}

/** Rejects with a ConfigError (nothing left running) when NATS or the local files cannot be opened. */
export async function openParts(config: ClusterConfig, hooks: EngineHooks): Promise<OpenedParts> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: config.cluster.split(',').map((url) => url.trim()),
      name: config.nodeId,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // A server that stops answering (SIGSTOP, a cut link) is noticed in ~3 s; a reconnect to a
      // server that accepts TCP but says nothing gives up in 2 s (the default 20 s stalled
      // everything behind it), then tries the next.
      pingInterval: 1000,
      maxPingOut: 2,
      timeout: 2000,
    });
  } catch (error) {
    throw new ConfigError(`--cluster: cannot reach NATS at ${config.cluster}: ${(error as Error).message}`, { cause: error });
  }
  let local: LocalShards | null = null;
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await checkShardCount(js, config.shards, config.streamReplicas);
    const lastSeqs = await ensureStreams(jsm, config.shards, config.streamReplicas);
    local = await LocalShards.open(
      config,
      {
        // The replicated log is the durable record: a replica that loses its last commits to a power
        // cut replays them from its log position, which commits (and is lost) with them.
        durability: { mode: 'normal', intervalMs: 0 },
        // Expiry comes from the owners' commands in the logs (maintenance.ts), never a writer's own clock.
        lifecycle: { indexFields: config.indexFields, expiryByLog: true, searchIndex: config.searchIndex === 'on' },
        // Rejections travel in the log with the publishing node's next message: counted as applied.
        rejectedFromFrames: true,
      },
      hooks,
    );
    const positions = local.opened.map((snapshot) => snapshot.log);
    const frontier = new Frontier(positions.map((position) => position.clock));
    const board = new VerdictBoard();
    const snapshots = await SnapshotStore.open(js, jsm, config.streamReplicas);
    const publisher = new StreamPublisher(js, { deadlineMs: kPublishDeadlineMs, attemptTimeoutMs: 2000, retryMs: 100 });
    let replicas: Replicas | null = null;
    const self = { id: config.nodeId, holds: config.holdShards === 'on' };
    const relay = new VerdictRelay(nc, board, publisher.nodeNuid, { applied: (shard) => replicas?.host(shard)?.position.seq ?? null });
    const membership = await Membership.open(js, jsm, {
      nodeId: config.nodeId,
      ttlMs: config.leaseTtlMs,
      replicas: config.streamReplicas,
      joinSettleMs: kJoinSettleMs,
      report: () => ({ hosting: replicas?.held() ?? [], caughtUp: replicas?.running.filter((host) => host.settled).map((host) => host.shard) ?? [], holds: self.holds }),
      onError: (message) => hooks.onShardError?.(-1, message),
    });
    // What this node held before (its files are not empty) it keeps until the nodes placed for it caught up.
    const heldBefore = new Set(positions.flatMap((position, shard) => (position.seq > 0 ? [shard] : [])));
    const held = shardsToHold(self, config.shards, membership.live, config.replicas, heldBefore);
    // Reads are cheap to repeat: a read in flight when its server goes away gives up in 2 s, not
    // the default 5 s (a NATS node's restart stalled every replica that long).
    const reads = await nc.jetstreamManager({ timeout: 2000 });
    const replicaParts = { nc, jsm: reads, local, board, frontier, snapshots, dataDir: config.dataDir, shardRetryMs: config.shardRetryMs, onNotice: (message: string) => hooks.onNotice?.(message), push: relay.push.bind(relay) };
    const openedAt = performance.now();
    replicas = await Replicas.open(replicaParts, positions, lastSeqs, held);
    // What it held before and no longer holds, the nodes placed for it have caught up on: its data dir keeps only its shards.
    for (const shard of heldBefore) if (!held.has(shard)) await replicas.empty(shard);
    // What it started with counts as moved here when its file was empty (a node joining).
    const copied = [...held].filter((shard) => !heldBefore.has(shard));
    const initial = { copied, seconds: copied.length > 0 ? (performance.now() - openedAt) / 1000 : 0 };
    const leases = new Leases(await openLeaseBucket(js, 'agg_leases', config.leaseTtlMs, config.streamReplicas), config.nodeId, config.leaseTtlMs);
    return { nc, js, jsm, local, replicas, frontier, board, leases, snapshots, publisher, relay, membership, initial };
  } catch (error) {
    await local?.destroy();
    await nc.close();
    throw error instanceof ConfigError ? error : new ConfigError(`--cluster: ${(error as Error).message}`, { cause: error });
  }
}
