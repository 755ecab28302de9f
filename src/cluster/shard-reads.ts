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
import { trimPagePart, trimSearchPart } from '../store/read-parts.js';
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
  | { readonly op: 'histogram'; readonly query: HistogramQuery }
  | { readonly op: 'top'; readonly query: TopQuery }
  | { readonly op: 'groups'; readonly name: string | null }
  | { readonly op: 'dying'; readonly name: string; readonly seqs: readonly number[] };

export type ShardReadReply = readonly ['ok', unknown] | readonly ['behind'] | readonly ['error', string];

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

/** Runs one shard's read on this node's reader threads. */
export async function readLocally(pages: PagePool, shard: number, read: ShardRead): Promise<unknown> {
  switch (read.op) {
    case 'page':
      return pages.pagePart(shard, read.query);
    case 'search':
      return pages.searchPart(shard, read.query);
    case 'topics':
      return pages.topicsPart(shard, read.query);
    case 'histogram':
      return pages.histogramPart(shard, read.query);
    case 'top':
      return pages.topPart(shard, read.query);
    case 'groups':
      return (pages as PageSource).groups(shard, read.name);
    case 'dying':
      return (pages as PageSource).dying(shard, read.name, read.seqs);
  }
}

export interface ResponderOptions {
  /** This node's replica's clock of `shard`, and whether it has caught up; null when it holds none. */
  readonly replica: (shard: number) => { readonly clock: number; readonly caughtUp: boolean } | null;
}

/** Answers the reads of the shards this node holds. */
export class ShardReadResponder {
  readonly #nc: NatsConnection;
  readonly #pages: PagePool;
  readonly #options: ResponderOptions;
  readonly #subscriptions = new Map<number, Subscription>();
  readonly #nodeReads: Subscription;

  constructor(nc: NatsConnection, pages: PagePool, nodeId: string, options: ResponderOptions) {
    this.#nc = nc;
    this.#pages = pages;
    this.#options = options;
    this.#nodeReads = nc.subscribe(subjectOfNodeReads(nodeId), {
      callback: (error, message) => {
        if (error) return;
        const { shards, read } = unpackMessage(message.data) as NodeRead;
        const budget = Math.floor(kReplyBytes / Math.max(1, shards.length));
        void Promise.all(shards.map((shard) => this.#answer(shard, read, budget))).then((replies) => message.respond(packMessage(replies)));
      },
    });
  }

  serve(shard: number, holding: boolean): void {
    const current = this.#subscriptions.get(shard);
    if (holding === (current !== undefined)) return;
    if (!holding) {
      current!.unsubscribe();
      this.#subscriptions.delete(shard);
      return;
    }
    const subject = subjectOfReads(shard);
    this.#subscriptions.set(
      shard,
      this.#nc.subscribe(subject, {
        queue: subject,
        callback: (error, message) => {
          if (error) return;
          void this.#answer(shard, unpackMessage(message.data) as ShardRead, kReplyBytes).then((reply) => message.respond(packMessage(reply)));
        },
      }),
    );
  }

  stop(): void {
    this.#nodeReads.unsubscribe();
    for (const subscription of this.#subscriptions.values()) subscription.unsubscribe();
    this.#subscriptions.clear();
  }

  async #answer(shard: number, read: ShardRead, maxBytes: number): Promise<ShardReadReply> {
    try {
      if (!(await this.#reached(shard, readsUpTo(read)))) return ['behind'];
      const part = await readLocally(this.#pages, shard, read);
      // Let go (its file emptied) while the part was read: another replica answers.
      if (!(await this.#reached(shard, readsUpTo(read), 0))) return ['behind'];
      if (read.op === 'page') return ['ok', trimPagePart(part as Awaited<ReturnType<PagePool['pagePart']>>, maxBytes)];
      if (read.op === 'search') return ['ok', trimSearchPart(part as Awaited<ReturnType<PagePool['searchPart']>>, maxBytes)];
      return ['ok', part];
    } catch (error) {
      return ['error', (error as Error).message];
    }
  }

  /** Whether this node's replica reached `upTo` (caught up, when the read has no watermark), waiting a moment for it. */
  async #reached(shard: number, upTo: number | null, waitMs = kCatchUpWaitMs): Promise<boolean> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const replica = this.#options.replica(shard);
      if (replica === null) return false;
      if (upTo === null ? replica.caughtUp : replica.clock >= upTo) return true;
      if (performance.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, kCatchUpPollMs));
    }
  }
}
