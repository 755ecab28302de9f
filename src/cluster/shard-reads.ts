/**
 * One shard's part of a read, served by a node that holds a replica of it (../shared/spec/cluster.md
 * §4): the request/reply between the read router (read-router.ts) and the replicas: the parts a
 * router groups by node go to `agg.rn.<node>` in one request; a part that node cannot serve is
 * asked again on `agg.r.<shard>`, a queue group per shard, so any one holder answers.
 *
 * A replica answers a read at watermark W only once its own clock reached W (it waits a moment
 * for that, then says `behind` and the router asks again): every event at or below W is then in
 * its file, so the cursor promise (no skip, no repeat) holds whichever replica answers. A part
 * larger than one NATS message is cut at a row (its reach moves down to that row, which the merge
 * reads as "complete up to here"), so a reply always fits.
 */
import type { NatsConnection, Subscription } from 'nats';
import type { PageQuery, PageSource, TopicQuery } from '../ingest/storage.js';
import { packMessage, unpackMessage } from '../ring/codec.js';
import type { HistogramQuery, SearchPageQuery, TopQuery } from '../search/request.js';
import { ShardResponders } from './shard-responders.js';
import { trimPagePart, trimSearchPart, type PagePart, type SearchPart, type VolumeQuery } from '../store/read-parts.js';
import type { PagePool } from '../workers/page-pool.js';

/** Reply bytes at most: NATS' default max_payload less room for the envelope. */
const kReplyBytes = 900 * 1024;
/** How long a replica behind the asked watermark waits to reach it before it says so. */
const kCatchUpWaitMs = 1000;
const kCatchUpPollMs = 5;

/** One shard's read, as the router asks it. */
export type ShardRead =
  | { readonly op: 'page'; readonly query: PageQuery }
  | { readonly op: 'search'; readonly query: SearchPageQuery }
  | { readonly op: 'topics'; readonly query: TopicQuery }
  | { readonly op: 'volumes'; readonly query: VolumeQuery }
  | { readonly op: 'histogram'; readonly query: HistogramQuery }
  | { readonly op: 'top'; readonly query: TopQuery }
  | { readonly op: 'groups'; readonly name: string | null }
  | { readonly op: 'dying'; readonly name: string; readonly seqs: readonly number[] };

export type ShardReadReply = readonly ['ok', unknown] | readonly ['behind'] | readonly ['error', string];

/** A page's or search's part cut to fit a reply; any other part as it is. */
function trimmed(read: ShardRead, part: unknown, maxBytes: number): unknown {
  if (read.op === 'page') return trimPagePart(part as PagePart, maxBytes);
  if (read.op === 'search') return trimSearchPart(part as SearchPart, maxBytes);
  return part;
}

/** The watermark a read must see, or null when it reads what is there (topics, groups). */
export function readsUpTo(read: ShardRead): number | null {
  return 'query' in read && 'maxSeq' in read.query ? read.query.maxSeq : null;
}

export function subjectOfReads(shard: number): string {
  return `agg.r.${shard}`;
}

/** Where one node answers the parts of several shards at once (the router groups a read's parts by node). */
export function subjectOfNodeReads(nodeId: string): string {
  return `agg.rn.${nodeId}`;
}

/** A read of several shards from one node; the answer is one ShardReadReply per shard, in order. */
export interface NodeRead {
  readonly shards: readonly number[];
  readonly read: ShardRead;
}

/** Runs the parts of `shards` on this node's reader threads (pages, searches, topics, volumes: one task for them all), in `shards`' order. */
export async function readLocally(pages: PagePool, shards: readonly number[], read: ShardRead): Promise<unknown[]> {
  switch (read.op) {
    case 'page':
      return pages.pageParts(shards, read.query);
    case 'search':
      return pages.searchParts(shards, read.query);
    case 'topics':
      return pages.topicsParts(shards, read.query);
    case 'volumes':
      return pages.volumeParts(shards, read.query);
    case 'histogram':
      return Promise.all(shards.map((shard) => pages.histogramPart(shard, read.query)));
    case 'top':
      return Promise.all(shards.map((shard) => pages.topPart(shard, read.query)));
    case 'groups':
      return Promise.all(shards.map((shard) => (pages as PageSource).groups(shard, read.name)));
    case 'dying':
      return Promise.all(shards.map((shard) => (pages as PageSource).dying(shard, read.name, read.seqs)));
  }
}

/** A node's replica of a shard as reads see it: its clock, and whether it has caught up; null when it holds none. */
export type ReplicaView = { readonly clock: number; readonly caughtUp: boolean } | null;

/** Whether `replica` can serve a read at watermark `upTo` (a read without one: once it caught up). */
export function serves(replica: ReplicaView, upTo: number | null): boolean {
  return replica !== null && (upTo === null ? replica.caughtUp : replica.clock >= upTo);
}

export interface ResponderOptions {
  readonly replica: (shard: number) => ReplicaView;
}

/** Answers the reads of the shards this node holds. */
export class ShardReadResponder {
  readonly #pages: PagePool;
  readonly #options: ResponderOptions;
  readonly #responders: ShardResponders;
  readonly #nodeReads: Subscription;

  constructor(nc: NatsConnection, pages: PagePool, nodeId: string, options: ResponderOptions) {
    this.#pages = pages;
    this.#options = options;
    this.#responders = new ShardResponders(nc, subjectOfReads, (shard, message) => {
      void this.#answer([shard], unpackMessage(message.data) as ShardRead, kReplyBytes).then(([reply]) => message.respond(packMessage(reply)));
    });
    this.#nodeReads = nc.subscribe(subjectOfNodeReads(nodeId), {
      callback: (error, message) => {
        if (error) return;
        const { shards, read } = unpackMessage(message.data) as NodeRead;
        void this.#answer(shards, read, Math.floor(kReplyBytes / Math.max(1, shards.length))).then((replies) => message.respond(packMessage(replies)));
      },
    });
  }

  /** This node now holds (or no longer holds) a replica of `shard`: answer its reads (or stop). */
  serve(shard: number, holding: boolean): void {
    this.#responders.serve(shard, holding);
  }

  stop(): void {
    this.#nodeReads.unsubscribe();
    this.#responders.stop();
  }

  /** One reply per shard of `shards`: its part, trimmed to `maxBytes`, or `behind` when this node's replica is not (or no longer) there. */
  async #answer(shards: readonly number[], read: ShardRead, maxBytes: number): Promise<ShardReadReply[]> {
    const upTo = readsUpTo(read);
    try {
      const ready = await Promise.all(shards.map((shard) => this.#reached(shard, upTo)));
      const serving = shards.filter((_, index) => ready[index]);
      const parts = serving.length > 0 ? await readLocally(this.#pages, serving, read) : [];
      // Let go (its file emptied) while the part was read: another replica answers.
      const still = await Promise.all(serving.map((shard) => this.#reached(shard, upTo, 0)));
      const replies = new Map<number, ShardReadReply>(serving.map((shard, index) => [shard, still[index] ? ['ok', trimmed(read, parts[index], maxBytes)] : ['behind']]));
      return shards.map((shard) => replies.get(shard) ?? ['behind']);
    } catch (error) {
      return shards.map(() => ['error', (error as Error).message] as const);
    }
  }

  /** Whether this node's replica reached `upTo` (caught up, when the read has no watermark), waiting a moment for it. */
  async #reached(shard: number, upTo: number | null, waitMs = kCatchUpWaitMs): Promise<boolean> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const replica = this.#options.replica(shard);
      if (serves(replica, upTo)) return true;
      if (replica === null || performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, kCatchUpPollMs));
    }
  }
}
