/**
 * The embedded storage engine: everything behind the `Storage` seam in one process. It is the
 * local core (src/local) plus the sequencer that gives every accepted event its seq:
 *
 *   commit path  → Sequencer (seqs, watermark) → LocalShards (rings → shard threads → SQLite)
 *   pages        → the core's reader threads
 *   stats        → the core's totals and shard status
 */
import type { Config } from '../config.js';
import { roomRefusal } from '../ingest/pipeline.js';
import { Sequencer } from '../ingest/sequencer.js';
import type { CommitPath, CommitRequest, DeletionRequest, DeletionResult, PageSource, RequestVerdict, RoomCheck, ShardFrame, StatsSource, Storage } from '../ingest/storage.js';
import { LocalShards, type EngineHooks } from '../local/local-shards.js';
import { packMessage } from '../ring/codec.js';
import { kFlagCommand, kFlagWantsResults } from '../ring/layout.js';
import type { GroupCommand, GroupReply } from '../groups/model.js';
import { kDeletionLimit, type DeleteCommand } from '../store/deletion.js';
import { SeqReservation } from '../store/seq-reservation.js';

export type EmbeddedConfig = Pick<Config, 'dataDir' | 'shards' | 'ringBytes' | 'drainBytes' | 'shardRetryMs' | 'readers' | 'minFreeBytes' | 'sync' | 'syncIntervalMs' | 'retention' | 'retentionBytes' | 'indexFields' | 'forgetAfter' | 'maxDataBytes' | 'searchIndex'>;

export class EmbeddedStorage implements Storage, CommitPath {
  readonly stats: StatsSource;
  readonly #local: LocalShards;
  readonly #sequencer: Sequencer;

  private constructor(local: LocalShards, sequencer: Sequencer) {
    this.#local = local;
    this.#sequencer = sequencer;
    this.stats = local.stats();
  }

  /** Opens every shard (rejects, with nothing left running, if one cannot open) and the reader threads. */
  static async open(config: EmbeddedConfig, hooks: EngineHooks = {}): Promise<EmbeddedStorage> {
    const local = await LocalShards.open(
      config,
      {
        durability: { mode: config.sync, intervalMs: config.syncIntervalMs },
        lifecycle: {
          retention: [...config.retention, ...config.retentionBytes],
          indexFields: config.indexFields,
          forgetAfterMs: config.forgetAfter,
          searchIndex: config.searchIndex === 'on',
          // The data dir's budget, a share per shard file.
          maxShardBytes: config.maxDataBytes === null ? null : Math.floor(config.maxDataBytes / config.shards),
        },
        rejectedFromFrames: false,
      },
      hooks,
    );
    try {
      const lastSeq = Math.max(0, ...local.opened.map((snapshot) => snapshot.counters.last_seq));
      const { reservation, next } = SeqReservation.open(config.dataDir, lastSeq);
      return new EmbeddedStorage(local, new Sequencer(next, (seq) => reservation.cover(seq)));
    } catch (error) {
      await local.destroy();
      throw error;
    }
  }

  get commitPath(): CommitPath {
    return this;
  }

  get watermark(): Sequencer {
    return this.#sequencer;
  }

  get pages(): PageSource {
    return this.#local.pages;
  }

  // --- CommitPath

  get shardCount(): number {
    return this.#local.shardCount;
  }

  get frameCapacity(): number {
    return this.#local.frameCapacity;
  }

  freeBytes(): number {
    return this.#local.freeBytes();
  }

  check(shard: number, bodyLength: number): RoomCheck {
    return this.#local.check(shard, bodyLength);
  }

  commit(frames: readonly ShardFrame[], request: CommitRequest): Promise<RequestVerdict> {
    const range = this.#sequencer.allocate(request.eventCount);
    const header = { flags: request.wantsStatuses ? kFlagWantsResults : 0, receivedAt: Date.now(), firstSeq: range.first };
    const statuses = request.wantsStatuses ? new Uint8Array(request.eventCount) : null;
    const queued = this.#local.queueAll(frames.map((frame) => ({ shard: frame.shard, header: { ...header, eventCount: frame.indexes.length }, chunks: frame.chunks, bodyLength: frame.bodyLength })));
    // Committed or failed, the range no longer holds the watermark back.
    return queued.finally(() => this.#sequencer.finish(range)).then((outcomes) => {
      let unique = 0;
      outcomes.forEach((outcome, position) => {
        unique += outcome.inserted;
        const { indexes } = frames[position]!;
        if (statuses && outcome.statuses) for (let index = 0; index < indexes.length; index++) statuses[indexes[index]!] = outcome.statuses[index]!;
      });
      return { unique, statuses };
    });
  }

  recordRejected(count: number): void {
    this.#local.recordRejected(count);
  }

  problems(): readonly string[] {
    return this.#local.problems();
  }

  /** Every shard gets the command: a topic's events are spread over all of them by event id. */
  delete(request: DeletionRequest): Promise<DeletionResult> {
    const command: DeleteCommand = { kind: 'delete', ...request, limit: kDeletionLimit, at: Date.now() };
    const body = packMessage(command);
    const shards = Array.from({ length: this.shardCount }, (_, shard) => shard);
    // The shards' own room, not the disk floor: a deletion is what frees space.
    for (const shard of shards) {
      const room = this.#local.ringRoom(shard, body.length);
      if (room !== 'ok') throw roomRefusal(room, shard, () => this.problems());
    }
    const header = { eventCount: 0, flags: kFlagCommand, receivedAt: Date.now(), firstSeq: 0 };
    return this.#local.queueAll(shards.map((shard) => ({ shard, header, chunks: [body], bodyLength: body.length }))).then((outcomes) => ({
      deleted: outcomes.reduce((sum, outcome) => sum + outcome.inserted, 0),
      more: outcomes.some((outcome) => outcome.inserted >= kDeletionLimit),
    }));
  }

  /** One shard's ring takes the command, like a deletion's (and, like one, even below the disk floor: an ack frees nothing, but must not wait on the disk). */
  groupCommand(shard: number, command: GroupCommand): Promise<GroupReply> {
    const body = packMessage(command);
    const room = this.#local.ringRoom(shard, body.length);
    if (room !== 'ok') throw roomRefusal(room, shard, () => this.problems());
    const header = { eventCount: 0, flags: kFlagCommand, receivedAt: Date.now(), firstSeq: 0 };
    return this.#local.queueAll([{ shard, header, chunks: [body], bodyLength: body.length }]).then(([outcome]) => outcome!.reply!);
  }

  // --- lifecycle

  /** Graceful and idempotent: commits and answers what was accepted, then closes the files. */
  close(): Promise<void> {
    return this.#local.close();
  }

  /** Abrupt: what is queued fails (503), nothing further is acknowledged. */
  destroy(): Promise<void> {
    return this.#local.destroy();
  }
}
