/**
 * The cluster storage engine (`--cluster`): the `Storage` seam over NATS JetStream
 * (../shared/spec/cluster.md; docs/ARCHITECTURE.md says where this design departs from it).
 *
 *   commit path → PublishPath (messages into the shard streams; PubAck + this node's verdict)
 *   shard hosts → one ordered consumer per shard → the embedded ShardPool (rings → threads → SQLite)
 *   watermark   → Frontier (the shard clocks this node applied; ticks keep idle shards moving)
 *   pages/stats → the embedded PagePool and Totals over this node's replicas
 *   ownership   → KV leases `own.<k>` (who ticks a shard, snapshots it and sends its expiry commands: maintenance.ts)
 *   snapshots   → the owner's snapshots in the object store; the log purged below them; a
 *                 replica the log no longer reaches back to restores one (snapshots.ts)
 *
 * Every node replicates every shard, so every node answers every read from its own files and
 * every write with its own replica's verdict. Loaded only by a dynamic import when `--cluster`
 * is set: the single-node service never loads `nats`.
 */
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { ConfigError } from '../errors.js';
import type { ClusterHealth } from '../events/responses.js';
import type { CommitPath, CommitRequest, DeletionRequest, DeletionResult, RequestVerdict, RoomCheck, ShardFrame, StatsSource, Storage } from '../ingest/storage.js';
import { Totals, TotalsStats } from '../ingest/totals.js';
import { parseIndexFields } from '../events/query.js';
import { parseDuration } from '../events/time-bound.js';
import { parseRetention } from '../store/retention.js';
import { PagePool } from '../workers/page-pool.js';
import { ShardPool } from '../workers/shard-pool.js';
import { DiskFloor } from '../embedded/disk-floor.js';
import { loadTotals, type EmbeddedOptions, type EngineHooks } from '../embedded/engine.js';
import { Frontier, Ticker } from './frontier.js';
import { Leases, openLeaseBucket } from './leases.js';
import { Maintenance } from './maintenance.js';
import { kMaxMessageBytes } from './log-message.js';
import { checkShardCount, ensureStreams } from './streams.js';
import { Ownership } from './ownership.js';
import { PublishPath } from './publish-path.js';
import { startReplicas } from './replicas.js';
import type { ShardHost } from './shard-host.js';
import { Snapshotter } from './snapshots.js';
import { SnapshotStore } from './snapshot-store.js';
import { StreamPublisher } from './stream-publisher.js';
import { VerdictBoard } from './verdicts.js';

export interface ClusterOptions extends Omit<EmbeddedOptions, 'maxDataBytes'> {
  /** `--cluster`: the NATS servers' URLs, comma-separated. */
  readonly cluster: string;
  readonly nodeId: string;
  readonly streamReplicas: number;
  readonly leaseTtlMs: number;
  readonly snapshotIntervalMs: number;
}

const kPublishDeadlineMs = 20_000;
const kTickMs = 20;
const kTakeoverTickMs = 300;
/** How long writes wait out a lost NATS connection before they are refused (503). */
const kReconnectGraceMs = 3000;

export class ClusterStorage implements Storage, CommitPath {
  readonly #nc: NatsConnection;
  readonly #shards: ShardPool;
  readonly #pages: PagePool;
  readonly #stats: TotalsStats;
  readonly #disk: DiskFloor;
  readonly #hosts: ShardHost[];
  readonly #frontier: Frontier;
  readonly #path: PublishPath;
  readonly #ownership: Ownership;
  readonly #ticker: Ticker;
  readonly #snapshotter: Snapshotter;
  readonly #maintenance: Maintenance | null;
  readonly #nodeId: string;
  #nats: ClusterHealth['nats'] = 'connected';
  #disconnectedAt = 0;
  #closing = false;

  private constructor(parts: { nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager; shards: ShardPool; pages: PagePool; totals: Totals; disk: DiskFloor; hosts: ShardHost[]; frontier: Frontier; path: PublishPath; leases: Leases; snapshots: SnapshotStore; options: ClusterOptions; hooks: EngineHooks }) {
    this.#nc = parts.nc;
    this.#shards = parts.shards;
    this.#pages = parts.pages;
    this.#stats = new TotalsStats(parts.totals, () => parts.shards.shardStatus(), () => this.#health());
    this.#disk = parts.disk;
    this.#hosts = parts.hosts;
    this.#frontier = parts.frontier;
    this.#path = parts.path;
    this.#nodeId = parts.options.nodeId;
    this.#ownership = new Ownership(parts.leases, {
      shards: parts.options.shards,
      ttlMs: parts.options.leaseTtlMs,
      caughtUp: (shard) => this.#hosts[shard]!.caughtUp,
      onError: (message) => parts.hooks.onShardError?.(-1, message),
    });
    this.#ticker = new Ticker(parts.js, parts.frontier, parts.options.shards, { intervalMs: kTickMs, takeoverMs: kTakeoverTickMs, owns: (shard) => this.#ownership.owns(shard) });
    this.#snapshotter = new Snapshotter(parts.snapshots, parts.pages, {
      shards: parts.options.shards,
      nodeId: parts.options.nodeId,
      dataDir: parts.options.dataDir,
      intervalMs: parts.options.snapshotIntervalMs,
      leaseRevision: (shard) => this.#ownership.leaseRevision(shard),
      position: (shard) => this.#hosts[shard]!.position,
      purge: async (stream, seq) => {
        await parts.jsm.streams.purge(stream, { seq });
      },
      onNotice: (message) => parts.hooks.onNotice?.(message),
    });
    this.#maintenance = Maintenance.start({
      shards: parts.options.shards,
      retention: parseRetention(parts.options.retention, parts.options.retentionBytes),
      forgetAfterMs: parts.options.forgetAfter === '' ? null : parseDuration(parts.options.forgetAfter),
      owns: (shard) => this.#ownership.owns(shard),
      applied: (shard) => this.#hosts[shard]!.position.seq,
      send: (shard, command) => this.#path.expire(shard, command),
      onError: (message) => parts.hooks.onShardError?.(-1, message),
    });
    void this.#watchConnection();
  }

  /**
   * Connects, makes the shard streams when they do not exist yet (never again: a re-made stream
   * name can confuse 2.9's replicas), opens this node's replicas and replays each to the end its
   * stream had at start, so the node answers nothing before it is caught up.
   */
  static async open(options: ClusterOptions, hooks: EngineHooks = {}): Promise<ClusterStorage> {
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.cluster.split(',').map((url) => url.trim()),
        name: options.nodeId,
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
      throw new ConfigError(`--cluster: cannot reach NATS at ${options.cluster}: ${(error as Error).message}`);
    }
    let shards: ShardPool | null = null;
    try {
      const jsm = await nc.jetstreamManager();
      const js = nc.jetstream();
      await checkShardCount(js, options.shards, options.streamReplicas);
      const lastSeqs = await ensureStreams(jsm, options.shards, options.streamReplicas);
      const totals = new Totals();
      const opened = await ShardPool.open({
        dataDir: options.dataDir,
        shards: options.shards,
        ringBytes: options.ringBytes,
        drainBytes: options.drainBytes,
        // The replicated log is the durable record: a replica that loses its last commits to a power
        // cut replays them from its log position, which commits (and is lost) with them.
        durability: { mode: 'normal', intervalMs: 0 },
        shardRetryMs: options.shardRetryMs,
        // Expiry comes from the owners' commands in the logs (maintenance.ts), never a writer's own clock.
        lifecycle: { indexFields: parseIndexFields(options.indexFields), expiryByLog: true },
        onExpired: (_shard, expired) => totals.addExpired(expired),
        onDeleted: (_shard, deleted) => totals.addDeleted(deleted),
        ...(options.shardWorkerFile ? { workerFile: options.shardWorkerFile } : {}),
        ...(hooks.onShardError ? { onShardError: hooks.onShardError } : {}),
        onCommit: (shard, result) => {
          totals.addCommit(result.topics);
          // Rejections travel in the log with the publishing node's next message: counted as applied.
          totals.counters.rejected += result.rejected;
          hooks.onCommit?.(shard, result.events, result.commitMs);
        },
      });
      shards = opened.pool;
      loadTotals(totals, opened.snapshots);
      const frontier = new Frontier(opened.snapshots.map((snapshot) => snapshot.log.clock));
      const board = new VerdictBoard();
      const snapshots = await SnapshotStore.open(js, jsm, options.streamReplicas);
      // Reads are cheap to repeat: a read in flight when its server goes away gives up in 2 s, not
      // the default 5 s (a NATS node's restart stalled every replica that long).
      const reads = await nc.jetstreamManager({ timeout: 2000 });
      const replicaParts = { nc, jsm: reads, pool: opened.pool, board, totals, frontier, snapshots, dataDir: options.dataDir, shardRetryMs: options.shardRetryMs, onNotice: (message: string) => hooks.onNotice?.(message) };
      const hosts = await startReplicas(replicaParts, opened.snapshots.map((snapshot) => snapshot.log), lastSeqs);
      const disk = await DiskFloor.watch(options.dataDir, options.minFreeBytes);
      const publisher = new StreamPublisher(js, { deadlineMs: kPublishDeadlineMs, attemptTimeoutMs: 2000, retryMs: 100 });
      let storage: ClusterStorage | null = null;
      const path = new PublishPath(publisher, board, {
        shards: options.shards,
        inFlightBytes: Math.max(options.ringBytes / 2, kMaxMessageBytes),
        verdictTimeoutMs: kPublishDeadlineMs + 10_000,
        refusal: () => storage!.#refusal(),
        problems: () => storage!.problems(),
      });
      const leases = new Leases(await openLeaseBucket(js, 'agg_leases', options.leaseTtlMs, options.streamReplicas), options.nodeId, options.leaseTtlMs);
      const pages = new PagePool({ dataDir: options.dataDir, shards: options.shards, readers: options.readers });
      storage = new ClusterStorage({ nc, js, jsm, shards: opened.pool, pages, totals, disk, hosts, frontier, path, leases, snapshots, options, hooks });
      return storage;
    } catch (error) {
      await shards?.destroy();
      await nc.close();
      throw error instanceof ConfigError ? error : new ConfigError(`--cluster: ${(error as Error).message}`);
    }
  }

  get commitPath(): CommitPath {
    return this;
  }

  get watermark(): Frontier {
    return this.#frontier;
  }

  get pages(): PagePool {
    return this.#pages;
  }

  get stats(): StatsSource {
    return this.#stats;
  }

  // --- CommitPath

  get shardCount(): number {
    return this.#shards.shardCount;
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

  delete(request: DeletionRequest): Promise<DeletionResult> {
    return this.#path.delete(request);
  }

  problems(): readonly string[] {
    const problems: string[] = [];
    if (this.#closing) problems.push('shutting down');
    if (this.#nats !== 'connected') problems.push(`NATS ${this.#nats}`);
    if (this.#disk.problem !== null) problems.push(this.#disk.problem);
    for (const host of this.#hosts) if ((host.failure ?? host.readProblem) !== null) problems.push((host.failure ?? host.readProblem)!);
    return [...problems, ...this.#shards.problems()];
  }

  /** Why no request may be taken now, whatever its size. */
  #refusal(): RoomCheck | null {
    if (this.#closing || this.#nats === 'closed') return 'failed';
    // A reconnect to another server (one restarting, one paused) takes a moment, during which nats.js
    // holds what is published and the publish retries: writes wait it out. Longer, NATS is gone.
    if (this.#nats === 'reconnecting' && performance.now() - this.#disconnectedAt > kReconnectGraceMs) return 'failed';
    if (this.#disk.problem !== null) return 'disk_full';
    return this.#hosts.some((host) => host.failure !== null) ? 'failed' : null;
  }

  #health(): ClusterHealth {
    return {
      node: this.#nodeId,
      nats: this.#nats,
      owned: this.#ownership.owned(),
      replicas: this.#hosts.map((host, shard) => ({ shard, role: this.#ownership.owns(shard) ? 'owner' : 'replica', applied: host.position.seq, clock: host.position.clock, caught_up: host.caughtUp, log_first: host.logFirst, restored: host.restored })),
    };
  }

  // --- lifecycle

  /** Graceful: answers what was accepted, gives the leases back, stops the replicas and threads. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#ticker.stop();
    this.#snapshotter.stop();
    this.#maintenance?.stop();
    await this.#path.drained();
    await this.#ownership.stop();
    await Promise.all(this.#hosts.map((host) => host.stop()));
    await this.#shards.close();
    await this.#pages.destroy();
    this.#disk.stop();
    await this.#nc.close();
  }

  async destroy(): Promise<void> {
    this.#closing = true;
    this.#ticker.stop();
    this.#snapshotter.stop();
    this.#maintenance?.stop();
    this.#path.failAll('the service is stopping');
    await Promise.all(this.#hosts.map((host) => host.stop()));
    await this.#shards.destroy();
    await this.#pages.destroy();
    this.#disk.stop();
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
