/**
 * Where shard snapshots live (../shared/spec/cluster.md §1, §3): the files in the JetStream
 * object store `agg_snapshots`, and per shard a pointer `snap.<k>` in the KV bucket `agg_meta` to
 * the latest one. The pointer moves only by compare-and-set on its revision and only forward;
 * it carries the lease revision of the owner that moved it, so who moved it and when is on record.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DiscardPolicy, StorageType, type JetStreamClient, type JetStreamManager, type KV, type ObjectStore } from 'nats';
import { AggregatorError } from '../errors.js';

export interface SnapshotPointer {
  /** The object's name in the store. */
  readonly object: string;
  /** The log position the snapshot holds everything through, and the shard clock after it. */
  readonly seq: number;
  readonly clock: number;
  readonly bytes: number;
  /** The lease revision of the owner that moved the pointer: its fencing token. */
  readonly epoch: number;
  readonly node: string;
  readonly takenAt: string;
}

export interface PointerEntry {
  readonly pointer: SnapshotPointer;
  /** The KV revision to compare-and-set against. */
  readonly revision: number;
}

const kBucket = 'agg_snapshots';

export class SnapshotStore {
  readonly #objects: ObjectStore;
  readonly #meta: KV;

  private constructor(objects: ObjectStore, meta: KV) {
    this.#objects = objects;
    this.#meta = meta;
  }

  static async open(js: JetStreamClient, jsm: JetStreamManager, replicas: number): Promise<SnapshotStore> {
    // The object store's stream is made here, as nats.js would make it but without direct gets:
    // a direct-get responder on a paused server swallows the requests routed to it.
    const stream = `OBJ_${kBucket}`;
    const exists = await jsm.streams.info(stream).then(
      () => true,
      (error: unknown) => {
        if (/stream not found/i.test((error as Error).message)) return false;
        throw error;
      },
    );
    if (!exists) {
      await jsm.streams.add({
        name: stream,
        subjects: [`$O.${kBucket}.C.>`, `$O.${kBucket}.M.>`],
        num_replicas: replicas,
        storage: StorageType.File,
        discard: DiscardPolicy.New,
        allow_rollup_hdrs: true,
        allow_direct: false,
        max_age: 0,
      });
    }
    const objects = await js.views.os(kBucket, { replicas });
    const meta = await js.views.kv('agg_meta', { history: 1, replicas, allow_direct: false });
    return new SnapshotStore(objects, meta);
  }

  async pointer(shard: number): Promise<PointerEntry | null> {
    const entry = await this.#meta.get(pointerKey(shard));
    if (!entry || entry.operation !== 'PUT') return null;
    return { pointer: JSON.parse(new TextDecoder().decode(entry.value)) as SnapshotPointer, revision: entry.revision };
  }

  async upload(object: string, path: string): Promise<void> {
    await this.#objects.put({ name: object }, Readable.toWeb(createReadStream(path, { highWaterMark: 128 * 1024 })) as unknown as ReadableStream<Uint8Array>);
  }

  /**
   * Sets the pointer to `pointer` if it is still at `expected` (null: there is none yet). False
   * when someone else moved it first: the caller's snapshot is then not the latest, and unused.
   */
  async movePointer(shard: number, pointer: SnapshotPointer, expected: PointerEntry | null): Promise<boolean> {
    if (expected && pointer.seq <= expected.pointer.seq) return false;
    const value = new TextEncoder().encode(JSON.stringify(pointer));
    try {
      if (expected) await this.#meta.update(pointerKey(shard), value, expected.revision);
      else await this.#meta.create(pointerKey(shard), value);
      return true;
    } catch (error) {
      if (/wrong last sequence|key exists/i.test((error as Error).message)) return false;
      throw error;
    }
  }

  /** Writes the pointer's object to `path`; the store checks its digest, this its size. */
  async download(pointer: SnapshotPointer, path: string): Promise<void> {
    const result = await this.#objects.get(pointer.object);
    if (!result) throw new AggregatorError('snapshot_unusable', `snapshot ${pointer.object} is not in the object store (deleted by a newer one?)`);
    const written = createWriteStream(path);
    await Promise.all([pipeline(Readable.fromWeb(result.data as unknown as WebReadableStream<Uint8Array>), written as Writable), result.error.then((error) => { if (error) throw error; })]);
    if (written.bytesWritten !== pointer.bytes) throw new AggregatorError('snapshot_unusable', `snapshot ${pointer.object} came with ${written.bytesWritten} bytes, not ${pointer.bytes}`);
  }

  /** Deletes the shard's snapshots but `keep`: the pointer has moved past them. */
  async deleteOthers(shard: number, keep: string): Promise<number> {
    let deleted = 0;
    for (const info of await this.#objects.list()) {
      if (info.deleted || info.name === keep || !info.name.startsWith(objectPrefix(shard))) continue;
      await this.#objects.delete(info.name);
      deleted++;
    }
    return deleted;
  }
}

export function objectName(shard: number, seq: number): string {
  return `${objectPrefix(shard)}${seq}`;
}

function objectPrefix(shard: number): string {
  return `shard-${shard}-`;
}

function pointerKey(shard: number): string {
  return `snap.${shard}`;
}
