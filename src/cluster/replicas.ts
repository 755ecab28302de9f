/**
 * This node's replicas (../shared/spec/cluster.md §2.4): one `ShardHost` per shard it holds, over
 * the local core, reading the log from the stream leaders, and the rebuild from a snapshot each
 * may need (a node joining with nothing, or one away across a purge). Which shards it holds is
 * placement's call (placement.ts): `hold` starts a replica, `release` stops one and empties its file.
 */
import type { JetStreamManager, NatsConnection } from 'nats';
import type { LocalShards } from '../local/local-shards.js';
import type { LogPosition } from '../store/log-position.js';
import type { Frontier } from './frontier.js';
import { streamName } from './log-message.js';
import type { LogReader } from './log-reads.js';
import { ShardHost } from './shard-host.js';
import type { SnapshotStore } from './snapshot-store.js';
import { restoreLatest } from './snapshots.js';
import type { AppliedMessage, VerdictBoard } from './verdicts.js';

/** Tries to empty a let-go replica's file, a pause apart, while frames are still pending. */
const kEmptyAttempts = 100;
const kEmptyRetryMs = 50;

export interface ReplicaParts {
  readonly nc: NatsConnection;
  /** For the reads: with a short request timeout (a read in flight when its server goes away waits it out). */
  readonly jsm: JetStreamManager;
  readonly local: LocalShards;
  readonly board: VerdictBoard;
  readonly frontier: Frontier;
  readonly snapshots: SnapshotStore;
  readonly dataDir: string;
  readonly shardRetryMs: number;
  readonly onNotice: (message: string) => void;
  readonly push: (replyTo: string, msgId: string, outcome: AppliedMessage) => void;
}

export class Replicas {
  readonly #parts: ReplicaParts;
  readonly #reader: LogReader;
  readonly #hosts: (ShardHost | null)[];
  /** Each shard file's position: where a replica started now would read on from. */
  readonly #positions: LogPosition[];

  /**
   * Starts a replica of each shard in `held` from the position its file holds (`positions`) and
   * resolves once each has applied its stream up to `lastSeqs`: the node answers nothing before
   * what it holds is caught up.
   */
  static async open(parts: ReplicaParts, positions: readonly LogPosition[], lastSeqs: readonly number[], held: ReadonlySet<number>): Promise<Replicas> {
    const replicas = new Replicas(parts, positions);
    for (const shard of held) await replicas.hold(shard);
    await Promise.all([...held].map((shard) => replicas.#hosts[shard]!.reach(lastSeqs[shard]!)));
    return replicas;
  }

  private constructor(parts: ReplicaParts, positions: readonly LogPosition[]) {
    this.#parts = parts;
    this.#positions = [...positions];
    this.#hosts = positions.map(() => null);
    // Reads go to each stream's leader: a direct get may be routed to a replica whose server is
    // paused, which never answers, and a lagging replica's view is not the leader's.
    this.#reader = {
      getMessage: (stream, query) => parts.jsm.streams.getMessage(stream, query),
      extent: async (stream) => {
        const { state, cluster } = await parts.jsm.streams.info(stream);
        return { first: state.first_seq, last: state.last_seq, leader: cluster?.leader || null };
      },
    };
  }

  /** This node's replica of `shard`, or null when it holds none. */
  host(shard: number): ShardHost | null {
    return this.#hosts[shard] ?? null;
  }

  get running(): readonly ShardHost[] {
    return this.#hosts.filter((host): host is ShardHost => host !== null);
  }

  held(): number[] {
    return this.#hosts.flatMap((host, shard) => (host ? [shard] : []));
  }

  /** Starts a replica of `shard` (if none runs): from its file's position, or, when that is empty, from the latest snapshot. */
  async hold(shard: number): Promise<void> {
    if (this.#hosts[shard]) return;
    const parts = this.#parts;
    const host = new ShardHost(
      parts.nc,
      this.#reader,
      parts.local,
      parts.board,
      {
        shard,
        shards: this.#hosts.length,
        stream: streamName(shard),
        retryMs: parts.shardRetryMs,
        onApplied: (k, applied, event) => parts.frontier.advance(k, applied.clock, event),
        rebuild: (k, through) => this.#rebuild(k, through),
        onNotice: parts.onNotice,
        push: parts.push,
      },
      this.#positions[shard]!,
    );
    this.#hosts[shard] = host;
    if (this.#positions[shard]!.seq === 0 && (await parts.snapshots.pointer(shard))) host.startFromSnapshot();
    host.start();
  }

  /**
   * Stops this node's replica of `shard` and empties its file: the node holds only what placement
   * gives it. A later `hold` starts again from the latest snapshot.
   */
  async release(shard: number): Promise<void> {
    const host = this.#hosts[shard];
    if (!host) return;
    this.#hosts[shard] = null;
    await host.stop();
    this.#positions[shard] = host.position;
    await this.empty(shard);
  }

  /**
   * Empties the file of a shard this node holds no replica of: one let go, or one it held before a
   * restart and is no longer placed for (the nodes placed for it caught up meanwhile).
   */
  async empty(shard: number): Promise<void> {
    if (this.#hosts[shard] || this.#positions[shard]!.seq === 0) return;
    // Frames a stopped reader queued still commit (or fail) first: the file is emptied once none is pending.
    for (let attempt = 1; ; attempt++) {
      try {
        this.#positions[shard] = await this.#parts.local.replace(shard, null);
        return;
      } catch (error) {
        if (attempt >= kEmptyAttempts) {
          this.#parts.onNotice(`replica of shard ${shard}: let go, but its file could not be emptied (${(error as Error).message}); it stays until the node restarts`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, kEmptyRetryMs));
      }
    }
  }

  stop(): Promise<void[]> {
    return Promise.all(this.running.map((host) => host.stop()));
  }

  /** A replica replaced by a snapshot (the core moves the totals by its counters' difference). */
  async #rebuild(shard: number, through: number): Promise<LogPosition> {
    const { snapshots, local, dataDir, frontier, board } = this.#parts;
    const position = await restoreLatest(snapshots, local, dataDir, shard, through);
    frontier.advance(shard, position.clock, true);
    // The verdicts this node waits for in what it skipped will never come (they fail as 503s).
    board.failAll(`shard ${shard} was rebuilt from a snapshot; retry`);
    return position;
  }
}
