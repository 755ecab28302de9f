/**
 * The cluster storage engine (`--cluster`): the `Storage` seam over NATS JetStream
 * (../shared/spec/cluster.md; docs/ARCHITECTURE.md says where this design departs from it).
 *
 *   commit path → PublishPath (messages into the shard streams; PubAck + this node's verdict)
 *   shard hosts → each shard's log read by position → the local core applies each message at its
 *                 position (src/local: rings → threads → SQLite)
 *   watermark   → Frontier (the shard clocks this node applied; ticks keep idle shards moving)
 *   pages/stats → the local core's reader threads and totals over this node's replicas
 *   ownership   → KV leases `own.<k>` (who ticks a shard, snapshots it and sends its expiry commands: maintenance.ts)
 *   snapshots   → the owner's snapshots in the object store; the log purged below them; a
 *                 replica the log no longer reaches back to restores one (snapshots.ts)
 *
 * Every node replicates every shard, so every node answers every read from its own files and
 * every write with its own replica's verdict. Loaded only by a dynamic import when `--cluster`
 * is set: the single-node service never loads `nats`.
 */
import type { GroupCommand, GroupReply } from '../groups/model.js';
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { ClusterHealth } from '../events/responses.js';
import type { CommitPath, CommitRequest, DeletionRequest, DeletionResult, PageSource, RequestVerdict, RoomCheck, ShardFrame, StatsSource, Storage } from '../ingest/storage.js';
import { LocalShards, type EngineHooks } from '../local/local-shards.js';
import { Frontier, Ticker } from './frontier.js';
import { Leases, openLeaseBucket } from './leases.js';
import { Maintenance } from './maintenance.js';
import { kMaxMessageBytes } from './log-message.js';
import { checkShardCount, ensureStreams } from './streams.js';
import { Ownership } from './ownership.js';
import { PublishPath } from './publish-path.js';
import { ClockGossip, type ShardClock } from './clock-gossip.js';
import { ClusterStats } from './cluster-stats.js';
import { Membership } from './membership.js';
import { shardsToHold } from './placement.js';
import { ReadRouter } from './read-router.js';
import { Rebalancer } from './rebalancer.js';
import { ShardReadResponder } from './shard-reads.js';
import { Replicas } from './replicas.js';
import { Snapshotter } from './snapshots.js';
import { SnapshotStore } from './snapshot-store.js';
import { StreamPublisher } from './stream-publisher.js';
import { VerdictBoard } from './verdicts.js';
import { VerdictRelay } from './verdict-relay.js';

export type ClusterConfig = Pick<
  Config,
  'dataDir' | 'shards' | 'ringBytes' | 'drainBytes' | 'shardRetryMs' | 'readers' | 'minFreeBytes' | 'retention' | 'retentionBytes' | 'indexFields' | 'forgetAfter' | 'searchIndex' | 'cluster' | 'nodeId' | 'replicas' | 'holdShards' | 'streamReplicas' | 'leaseTtlMs' | 'snapshotIntervalMs'
>;

const kPublishDeadlineMs = 20_000;
const kTickMs = 20;
const kTakeoverTickMs = 300;
/** How long writes wait out a lost NATS connection before they are refused (503). */
const kReconnectGraceMs = 3000;
/** How long a node that appears must stay before placement counts it. */
const kJoinSettleMs = 2000;

/** What the constructor is given: everything `open` had to wait for. */
interface OpenedParts {
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

export class ClusterStorage implements Storage, CommitPath {
  readonly stats: StatsSource;
  readonly #nc: NatsConnection;
  readonly #local: LocalShards;
  readonly #replicas: Replicas;
  readonly #frontier: Frontier;
  readonly #relay: VerdictRelay;
  readonly #membership: Membership;
  readonly #rebalancer: Rebalancer;
  readonly #gossip: ClockGossip;
  readonly #router: ReadRouter;
  readonly #responder: ShardReadResponder;
  /** Replicas being let go: they take no lease meanwhile. */
  readonly #releasing = new Set<number>();
  readonly #replicaCount: number;
  readonly #path: PublishPath;
  readonly #ownership: Ownership;
  readonly #ticker: Ticker;
  readonly #snapshotter: Snapshotter;
  readonly #maintenance: Maintenance | null;
  readonly #nodeId: string;
  #nats: ClusterHealth['nats'] = 'connected';
  #disconnectedAt = 0;
  #closing = false;
  #closed: Promise<void> | null = null;
  #destroyed: Promise<void> | null = null;

  private constructor(parts: OpenedParts, config: ClusterConfig, hooks: EngineHooks) {
    this.#nc = parts.nc;
    this.#local = parts.local;
    this.#replicas = parts.replicas;
    this.#frontier = parts.frontier;
    this.#relay = parts.relay;
    this.#membership = parts.membership;
    this.#nodeId = config.nodeId;
    this.#replicaCount = config.replicas;
    const host = (shard: number) => this.#replicas.host(shard);
    this.stats = new ClusterStats(parts.local.stats(() => this.#health()), {
      shards: config.shards,
      own: (shard) => (host(shard)?.settled ? parts.local.countersOf(shard) : null),
      heard: (shard) => this.#gossip.countersOf(shard),
    });
    const replica = (shard: number) => {
      const held = host(shard);
      return held ? { clock: held.position.clock, caughtUp: held.settled } : null;
    };
    const holders = (shard: number) => [...parts.membership.live].flatMap(([node, report]) => (node !== config.nodeId && report.caughtUp.includes(shard) ? [node] : []));
    this.#router = new ReadRouter(parts.nc, parts.local.pages, { shards: config.shards, replica, holders });
    this.#responder = new ShardReadResponder(parts.nc, parts.local.pages, config.nodeId, { replica });
    this.#path = new PublishPath(parts.publisher, parts.board, {
      shards: config.shards,
      inFlightBytes: Math.max(config.ringBytes / 2, kMaxMessageBytes),
      verdictTimeoutMs: kPublishDeadlineMs + 10_000,
      refusal: () => this.#refusal(),
      problems: () => this.problems(),
      remoteVerdicts: {
        replyTo: (shard) => (host(shard)?.settled ? null : parts.relay.replySubject),
        follow: (shard, msgId, seq) => parts.relay.follow(shard, msgId, seq),
      },
    });
    this.#ownership = new Ownership(parts.leases, {
      shards: config.shards,
      ttlMs: config.leaseTtlMs,
      caughtUp: (shard) => !this.#releasing.has(shard) && (host(shard)?.caughtUp ?? false),
      onError: (message) => hooks.onShardError?.(-1, message),
    });
    this.#ticker = new Ticker(parts.js, parts.frontier, config.shards, { intervalMs: kTickMs, takeoverMs: kTakeoverTickMs, owns: (shard) => this.#ownership.owns(shard) });
    this.#snapshotter = new Snapshotter(parts.snapshots, parts.local.pages, {
      shards: config.shards,
      nodeId: config.nodeId,
      dataDir: config.dataDir,
      intervalMs: config.snapshotIntervalMs,
      leaseRevision: (shard) => this.#ownership.leaseRevision(shard),
      position: (shard) => host(shard)?.position ?? { seq: 0, clock: 0 },
      purge: async (stream, seq) => {
        await parts.jsm.streams.purge(stream, { seq });
      },
      onNotice: (message) => hooks.onNotice?.(message),
    });
    this.#maintenance = Maintenance.start({
      shards: config.shards,
      retention: [...config.retention, ...config.retentionBytes],
      forgetAfterMs: config.forgetAfter,
      owns: (shard) => this.#ownership.owns(shard),
      applied: (shard) => host(shard)?.position.seq ?? 0,
      send: (shard, command) => this.#path.expire(shard, command),
      onError: (message) => hooks.onShardError?.(-1, message),
    });
    for (const shard of parts.replicas.held()) this.#serve(shard, true);
    this.#rebalancer = new Rebalancer(parts.membership, parts.replicas, {
      self: { id: config.nodeId, holds: config.holdShards === 'on' },
      shards: config.shards,
      replicas: config.replicas,
      taken: (shard) => this.#serve(shard, true),
      letGo: async (shard) => {
        this.#releasing.add(shard);
        try {
          await this.#ownership.release(shard);
          this.#serve(shard, false);
        } finally {
          this.#releasing.delete(shard);
        }
      },
      fileBytes: (shard) => parts.local.fileBytes(shard),
      initial: parts.initial,
      onNotice: (message) => hooks.onNotice?.(message),
    });
    this.#gossip = new ClockGossip(parts.nc, parts.frontier, {
      nodeId: config.nodeId,
      intervalMs: kTickMs,
      local: () => new Map(parts.replicas.running.map((replica) => [replica.shard, { ...replica.clocks, counters: parts.local.countersOf(replica.shard) }] as [number, ShardClock])),
      followsOwn: (shard) => host(shard)?.settled ?? false,
    });
    parts.membership.start();
    void this.#watchConnection();
  }

  /**
   * Connects, makes the shard streams when they do not exist yet (never again: a re-made stream
   * name can confuse 2.9's replicas), opens this node's replicas and replays each to the end its
   * stream had at start, so the node answers nothing before it is caught up.
   */
  static async open(config: ClusterConfig, hooks: EngineHooks = {}): Promise<ClusterStorage> {
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
      // What it started with counts as moved here when its file was empty (a node joining).
      const copied = [...held].filter((shard) => !heldBefore.has(shard));
      const initial = { copied, seconds: copied.length > 0 ? (performance.now() - openedAt) / 1000 : 0 };
      const leases = new Leases(await openLeaseBucket(js, 'agg_leases', config.leaseTtlMs, config.streamReplicas), config.nodeId, config.leaseTtlMs);
      return new ClusterStorage({ nc, js, jsm, local, replicas, frontier, board, leases, snapshots, publisher, relay, membership, initial }, config, hooks);
    } catch (error) {
      await local?.destroy();
      await nc.close();
      throw error instanceof ConfigError ? error : new ConfigError(`--cluster: ${(error as Error).message}`, { cause: error });
    }
  }

  get commitPath(): CommitPath {
    return this;
  }

  get watermark(): Frontier {
    return this.#frontier;
  }

  get pages(): PageSource {
    return this.#router;
  }

  // --- CommitPath

  get shardCount(): number {
    return this.#local.shardCount;
  }

  get frameCapacity(): number {
    return this.#path.frameCapacity;
  }

  freeBytes(): number {
    return this.#path.freeBytes();
  }

  check(shard: number, bodyLength: number): RoomCheck {
    return this.#path.check(shard, bodyLength);
  }

  commit(frames: readonly ShardFrame[], request: CommitRequest): Promise<RequestVerdict> {
    return this.#path.commit(frames, request);
  }

  recordRejected(count: number): void {
    this.#path.recordRejected(count);
  }

  groupCommand(shard: number, command: GroupCommand): Promise<GroupReply> {
    return this.#path.groupCommand(shard, command);
  }

  delete(request: DeletionRequest): Promise<DeletionResult> {
    return this.#path.delete(request);
  }

  problems(): readonly string[] {
    const problems: string[] = [];
    if (this.#closing) problems.push('shutting down');
    if (this.#nats !== 'connected') problems.push(`NATS ${this.#nats}`);
    for (const host of this.#replicas.running) if ((host.failure ?? host.readProblem) !== null) problems.push((host.failure ?? host.readProblem)!);
    return [...problems, ...this.#local.problems()];
  }

  /** This node answers for its replica of `shard` (verdict queries, reads), or stops to. */
  #serve(shard: number, holding: boolean): void {
    this.#relay.serve(shard, holding);
    this.#responder.serve(shard, holding);
  }

  /** Why no request may be taken now, whatever its size. */
  #refusal(): RoomCheck | null {
    if (this.#closing || this.#nats === 'closed') return 'failed';
    // A reconnect to another server (one restarting, one paused) takes a moment, during which nats.js
    // holds what is published and the publish retries: writes wait it out. Longer, NATS is gone.
    if (this.#nats === 'reconnecting' && performance.now() - this.#disconnectedAt > kReconnectGraceMs) return 'failed';
    if (this.#local.diskProblem !== null) return 'disk_full';
    return this.#replicas.running.some((host) => host.failure !== null) ? 'failed' : null;
  }

  #health(): ClusterHealth {
    return {
      node: this.#nodeId,
      nats: this.#nats,
      owned: this.#ownership.owned(),
      nodes: [...this.#membership.live.keys()],
      replicas_per_shard: this.#replicaCount,
      rebalance: (({ started, caughtUp, released, moving, bytesCopied, lastCatchUpSeconds }) => ({ started, caught_up: caughtUp, released, moving, bytes_copied: bytesCopied, last_catch_up_seconds: lastCatchUpSeconds }))(this.#rebalancer.counts),
      replicas: this.#replicas.running.map((host) => ({ shard: host.shard, role: this.#ownership.owns(host.shard) ? 'owner' : 'replica', applied: host.position.seq, clock: host.position.clock, caught_up: host.caughtUp, log_first: host.logFirst, restored: host.restored, stream_leader: !host.leaderless })),
    };
  }

  // --- lifecycle

  /** Graceful and idempotent: answers what was accepted, gives the leases back, stops the replicas and threads. */
  close(): Promise<void> {
    this.#closed ??= this.#stop(async () => {
      await this.#path.drained();
      await this.#ownership.stop();
    }, () => this.#local.close());
    return this.#closed;
  }

  /** Abrupt: what waits for a verdict fails (503), the leases lapse by themselves. */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#stop(async () => this.#path.failAll('the service is stopping'), () => this.#local.destroy());
    return this.#destroyed;
  }

  async #stop(settle: () => Promise<void>, stopLocal: () => Promise<void>): Promise<void> {
    this.#closing = true;
    this.#ticker.stop();
    this.#snapshotter.stop();
    this.#maintenance?.stop();
    this.#gossip.stop();
    await this.#rebalancer.stop();
    await settle();
    await this.#membership.leave();
    this.#relay.stop();
    this.#responder.stop();
    await this.#replicas.stop();
    await stopLocal();
    await this.#nc.close().catch(() => {});
  }

  async #watchConnection(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'disconnect') {
        this.#nats = 'reconnecting';
        this.#disconnectedAt = performance.now();
      }
      else if (status.type === 'reconnect') this.#nats = 'connected';
    }
    this.#nats = 'closed';
  }
}
