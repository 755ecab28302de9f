/**
 * The cluster storage engine (`--cluster`): the `Storage` seam over NATS JetStream
 * (../shared/spec/cluster.md; docs/ARCHITECTURE.md says where this design departs from it).
 *
 *   open        → open-parts.ts: NATS, the streams, the local core, the live set, this node's replicas
 *   placement   → Rebalancer (the R nodes of each shard, placement.ts; moves make before break)
 *   commit path → PublishPath (messages into the shard streams; PubAck + a replica's verdict:
 *                 this node's own, or pushed by the replicas, verdict-relay.ts)
 *   shard hosts → each held shard's log read by position → the local core applies each message at
 *                 its position (src/local: rings → threads → SQLite)
 *   watermark   → Frontier (the shard clocks, this node's and gossiped: clock-gossip.ts; ticks keep idle shards moving)
 *   pages       → ReadRouter (a part per shard, here or from a replica that holds it, merged)
 *   stats       → ClusterStats (the totals summed per shard; per-topic counts read from the replicas)
 *   ownership   → KV leases `own.<k>` (who ticks a shard, snapshots it and sends its expiry commands: maintenance.ts)
 *   snapshots   → the owner's snapshots in the object store; the log purged below them; a
 *                 replica the log no longer reaches back to restores one (snapshots.ts)
 *
 * Loaded only by a dynamic import when `--cluster` is set: the single-node service never loads `nats`.
 */
import type { GroupCommand, GroupReply } from '../groups/model.js';
import type { NatsConnection } from 'nats';
import type { ClusterHealth } from '../events/responses.js';
import type { CommitPath, CommitRequest, DeletionRequest, DeletionResult, PageSource, RequestVerdict, RoomCheck, ShardFrame, StatsSource, Storage } from '../ingest/storage.js';
import type { EngineHooks, LocalShards } from '../local/local-shards.js';
import { Ticker, type Frontier } from './frontier.js';
import { Maintenance } from './maintenance.js';
import { bellOf, kMaxMessageBytes } from './log-message.js';
import { Ownership } from './ownership.js';
import { PublishPath } from './publish-path.js';
import { ClockGossip, type ShardClock } from './clock-gossip.js';
import { ClusterStats } from './cluster-stats.js';
import { JetStreamLink } from './jetstream-link.js';
import { TopicView } from './topic-view.js';
import type { Membership } from './membership.js';
import { ReadRouter } from './read-router.js';
import { Rebalancer } from './rebalancer.js';
import { ShardReadResponder } from './shard-reads.js';
import type { Replicas } from './replicas.js';
import { Snapshotter } from './snapshots.js';
import type { VerdictRelay } from './verdict-relay.js';
import { kPublishDeadlineMs, openParts, type ClusterConfig, type OpenedParts } from './open-parts.js';

export type { ClusterConfig };

const kTickMs = 20;
const kTakeoverTickMs = 300;
/** How long a replica being let go waits for the verdicts this node expects of it (a stalled log: the rest get 503s). */
const kLetGoDrainMs = 10_000;

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
  readonly #link: JetStreamLink;
  readonly #path: PublishPath;
  readonly #ownership: Ownership;
  readonly #ticker: Ticker;
  readonly #snapshotter: Snapshotter;
  readonly #maintenance: Maintenance | null;
  readonly #nodeId: string;
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
      topics: new TopicView((query) => this.#router.volumes(query)),
    });
    const replica = (shard: number) => {
      const held = host(shard);
      return held ? { clock: held.position.clock, caughtUp: held.settled } : null;
    };
    const holders = (shard: number) => [...parts.membership.live].flatMap(([node, report]) => (node !== config.nodeId && report.caughtUp.includes(shard) ? [node] : []));
    this.#router = new ReadRouter(parts.nc, parts.local.pages, { shards: config.shards, replica, holders });
    this.#responder = new ShardReadResponder(parts.nc, parts.local.pages, config.nodeId, { replica });
    const ring = (shard: number): void => {
      if (!parts.nc.isClosed()) parts.nc.publish(bellOf(shard));
    };
    this.#path = new PublishPath(parts.publisher, parts.board, {
      shards: config.shards,
      inFlightBytes: Math.max(config.ringBytes / 2, kMaxMessageBytes),
      verdictTimeoutMs: kPublishDeadlineMs + 10_000,
      refusal: () => this.#refusal(),
      problems: () => this.problems(),
      remoteVerdicts: {
        // A replica being let go may stop before it applies a new message: its verdict is pushed instead.
        replyTo: (shard) => (host(shard)?.settled && !this.#releasing.has(shard) ? null : parts.relay.replySubject),
        follow: (shard, msgId, seq) => parts.relay.follow(shard, msgId, seq),
      },
      ring,
    });
    this.#ownership = new Ownership(parts.leases, {
      shards: config.shards,
      ttlMs: config.leaseTtlMs,
      caughtUp: (shard) => !this.#releasing.has(shard) && (host(shard)?.caughtUp ?? false),
      onError: (message) => hooks.onShardError?.(-1, message),
    });
    this.#ticker = new Ticker(parts.js, parts.frontier, config.shards, { intervalMs: kTickMs, takeoverMs: kTakeoverTickMs, owns: (shard) => this.#ownership.owns(shard), ring });
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
      taken: (shard) => {
        this.#releasing.delete(shard);
        this.#serve(shard, true);
      },
      // Marked until the replica is stopped (a later `taken` clears it): meanwhile new messages ask for pushed verdicts.
      letGo: async (shard) => {
        this.#releasing.add(shard);
        // What this node published for its own replica to settle settles before that replica stops.
        await this.#path.ownVerdictsSettled(shard, kLetGoDrainMs);
        await this.#ownership.release(shard);
        this.#serve(shard, false);
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
    this.#link = new JetStreamLink(parts.nc, {
      roundSilentMs: () => parts.membership.silentMs,
      lastAckAt: () => parts.publisher.lastAckAt,
      onNotice: (message) => hooks.onNotice?.(message),
    });
  }

  /**
   * Connects, makes the shard streams when they do not exist yet (never again: a re-made stream
   * name can confuse 2.9's replicas), opens this node's replicas and replays each to the end its
   * stream had at start, so the node answers nothing before it is caught up.
   */
  static async open(config: ClusterConfig, hooks: EngineHooks = {}): Promise<ClusterStorage> {
    return new ClusterStorage(await openParts(config, hooks), config, hooks);
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
    const link = this.#link.problem();
    if (link !== null) problems.push(link);
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
    if (this.#closing) return 'failed';
    const link = this.#link.refusal();
    if (link !== null) return link;
    if (this.#local.diskProblem !== null) return 'disk_full';
    return this.#replicas.running.some((host) => host.failure !== null) ? 'failed' : null;
  }

  #health(): ClusterHealth {
    return {
      node: this.#nodeId,
      nats: this.#link.state,
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
    this.#link.stop();
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
}
