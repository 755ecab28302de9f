/**
 * Where shard snapshots live (../shared/spec/cluster.md §1, §3): the files in the JetStream
 * object store `agg_snapshots`, and per shard a pointer `snap.<k>` in the KV bucket `agg_meta` to
 * the latest one. The pointer moves only by compare-and-set on its revision and only forward;
 * it carries the lease revision of the owner that moved it, so who moved it and when is on record.
 */
import { isApiError } from './nats-errors.js';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DiscardPolicy, headers, nuid, StorageType, type JetStreamClient, type JetStreamManager, type KV, type ObjectStore } from 'nats';
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
  /** The snapshot this one replaced (kept until the next one): the one to delete then. */
  readonly previous: string | null;
}

export interface PointerEntry {
  readonly pointer: SnapshotPointer;
  /** The KV revision to compare-and-set against. */
  readonly revision: number;
}

const kBucket = 'agg_snapshots';
const kStream = `OBJ_${kBucket}`;
/** The object store's default chunk size. */
const kChunkBytes = 128 * 1024;
/** Chunks in flight at once during an upload: 4 MiB, enough to keep an R3 stream busy. */
const kWindow = 32;
const kPublishTimeoutMs = 10_000;
/** A download that moves no byte for this long is abandoned; it is looked at this often. */
const kStallMs = 10_000;
const kStallCheckMs = 1000;

export class SnapshotStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #objects: ObjectStore;
  readonly #meta: KV;

  private constructor(js: JetStreamClient, jsm: JetStreamManager, objects: ObjectStore, meta: KV) {
    this.#js = js;
    this.#jsm = jsm;
    this.#objects = objects;
    this.#meta = meta;
  }

  static async open(js: JetStreamClient, jsm: JetStreamManager, replicas: number): Promise<SnapshotStore> {
    // The object store's stream is made here, as nats.js would make it but without direct gets:
    // a direct-get responder on a paused server swallows the requests routed to it.
    const exists = await jsm.streams.info(kStream).then(
      () => true,
      (error: unknown) => {
        if (isApiError(error, 'streamNotFound')) return false;
        throw error;
      },
    );
    if (!exists) {
      await jsm.streams.add({
        name: kStream,
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
    return new SnapshotStore(js, jsm, objects, meta);
  }

  async pointer(shard: number): Promise<PointerEntry | null> {
    const entry = await this.#meta.get(pointerKey(shard));
    if (!entry || entry.operation !== 'PUT') return null;
    return { pointer: JSON.parse(new TextDecoder().decode(entry.value)) as SnapshotPointer, revision: entry.revision };
  }

  /**
   * Stores the file as object `object`, in the object store's own format (chunks, then the
   * digest-bearing meta record that makes it visible), but with at most `kWindow` chunks in flight:
   * nats.js's `put` publishes every chunk at once, holding the whole file in memory (gigabytes for
   * a large shard) and timing the last chunks out. A failed upload removes its chunks.
   */
  async upload(object: string, path: string): Promise<void> {
    const id = nuid.next();
    const chunks = `$O.${kBucket}.C.${id}`;
    const digest = createHash('sha256');
    const inFlight = new Set<Promise<unknown>>();
    let size = 0;
    let count = 0;
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: kChunkBytes }) as AsyncIterable<Buffer>) {
        digest.update(chunk);
        size += chunk.length;
        count++;
        const sent: Promise<unknown> = this.#js.publish(chunks, chunk, { timeout: kPublishTimeoutMs }).finally(() => inFlight.delete(sent));
        inFlight.add(sent);
        if (inFlight.size >= kWindow) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      const info = { name: object, description: '', options: { max_chunk_size: kChunkBytes }, bucket: kBucket, nuid: id, size, chunks: count, mtime: new Date().toISOString(), digest: `SHA-256=${base64UrlPadded(digest.digest())}`, deleted: false };
      const rollup = headers();
      rollup.set('Nats-Rollup', 'sub');
      await this.#js.publish(`$O.${kBucket}.M.${base64UrlPadded(Buffer.from(object))}`, new TextEncoder().encode(JSON.stringify(info)), { headers: rollup, timeout: kPublishTimeoutMs });
    } catch (error) {
      await Promise.allSettled(inFlight);
      await this.#jsm.streams.purge(kStream, { filter: chunks }).catch(() => {});
      throw error;
    }
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
      if (isApiError(error, 'wrongLastSequence')) return false;
      throw error;
    }
  }

  /** Writes the pointer's object to `path`; the store checks its digest, this its size. */
  async download(pointer: SnapshotPointer, path: string): Promise<void> {
    const result = await this.#objects.get(pointer.object);
    if (!result) throw new AggregatorError('snapshot_unusable', `snapshot ${pointer.object} is not in the object store (deleted by a newer one?)`);
    const written = createWriteStream(path);
    // The get is an ordered consumer, which can stall for good across a NATS failover: a download
    // that stops moving is abandoned, and the rebuild tries again.
    // So is one whose object was deleted meanwhile (two snapshots newer came): its chunks are gone.
    const abandon = new AbortController();
    let seen = -1;
    let stillSince = performance.now();
    const watch = setInterval(() => {
      if (written.bytesWritten !== seen) {
        seen = written.bytesWritten;
        stillSince = performance.now();
        return;
      }
      void this.#objects.info(pointer.object).then(
        (info) => {
          if (info === null || info.deleted) abandon.abort(new AggregatorError('snapshot_unusable', `snapshot ${pointer.object} was deleted while it downloaded`));
          else if (performance.now() - stillSince > kStallMs) abandon.abort(new AggregatorError('snapshot_unusable', `snapshot ${pointer.object}: the download stood still for ${kStallMs} ms`));
        },
        () => {},
      );
    }, kStallCheckMs);
    try {
      await Promise.all([
        // nats.js types its stream as the DOM's ReadableStream; at run time it is Node's web stream.
        pipeline(Readable.fromWeb(result.data as unknown as WebReadableStream<Uint8Array>), written as Writable, { signal: abandon.signal }),
        result.error.then((error) => {
          if (error) throw error;
        }),
      ]);
    } finally {
      clearInterval(watch);
    }
    if (written.bytesWritten !== pointer.bytes) throw new AggregatorError('snapshot_unusable', `snapshot ${pointer.object} came with ${written.bytesWritten} bytes, not ${pointer.bytes}`);
  }

  /** Deletes one snapshot; one already gone is no error. */
  async delete(object: string): Promise<void> {
    const info = await this.#objects.info(object);
    if (info && !info.deleted) await this.#objects.delete(object);
  }

  /**
   * Deletes the shard's snapshots but those in `keep`: stragglers a `delete` missed (a failed
   * call, a race between two owners). Best effort: a listing can miss a record just written.
   */
  async deleteOthers(shard: number, keep: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const info of await this.#objects.list()) {
      if (info.deleted || keep.includes(info.name) || !info.name.startsWith(objectPrefix(shard))) continue;
      await this.#objects.delete(info.name);
      deleted++;
    }
    return deleted;
  }
}

/** The object store's encoding of names and digests: base64url, padding kept. */
function base64UrlPadded(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
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
