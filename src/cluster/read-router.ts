/**
 * The cluster's PageSource (../shared/spec/cluster.md §4): every read is cut into one part per
 * shard, each served here when this node's replica of the shard has reached the read's watermark,
 * else by a replica that has (shard-reads.ts; one request per node for the parts it serves), and the parts are merged as the reader threads
 * merge them on a single node (src/store/read-parts.ts). So /events, /search, /tail, /topics and
 * the groups read the same from any node, whether it holds any shard or none.
 */
import type { NatsConnection } from 'nats';
import { OverloadedError } from '../errors.js';
import type { SearchHistogram, SearchTop } from '../events/responses.js';
import type { DyingMessage, GroupShardState } from '../groups/model.js';
import type { Page, PageQuery, PageSource, SearchResult, TopicQuery, TopicRow } from '../ingest/storage.js';
import { packMessage, unpackMessage } from '../ring/codec.js';
import { valueFieldName, type HistogramQuery, type SearchPageQuery, type TopQuery } from '../search/request.js';
import { mergePageParts, mergeSearchParts, mergeTopicParts, mergeVolumeParts, renderEvents, type PagePart, type SearchPart, type TopicVolumes, type VolumePart, type VolumeQuery } from '../store/read-parts.js';
import { mergeHistogram, type HistogramPart } from '../store/search-counts.js';
import { mergeTop, type TopPart } from '../store/search-top.js';
import type { PagePool } from '../workers/page-pool.js';
import { readLocally, readsUpTo, serves, subjectOfNodeReads, subjectOfReads, type NodeRead, type ReplicaView, type ShardRead, type ShardReadReply } from './shard-reads.js';

/** One ask's wait for a replica's answer. */
const kAskTimeoutMs = 3000;
/** Asks of one part before the read fails with a 503 (a replica behind, none answering). */
const kAsks = 4;
const kRetryMs = 50;

export interface RouterOptions {
  readonly shards: number;
  /** The other nodes that last reported a caught-up replica of `shard` (membership.ts). */
  readonly holders: (shard: number) => readonly string[];
  readonly replica: (shard: number) => ReplicaView;
}

export class ReadRouter implements PageSource {
  readonly #nc: NatsConnection;
  readonly #pages: PagePool;
  readonly #options: RouterOptions;
  /** Turns the choice among a shard's holders, so reads spread over them. */
  #turn = 0;

  constructor(nc: NatsConnection, pages: PagePool, options: RouterOptions) {
    this.#nc = nc;
    this.#pages = pages;
    this.#options = options;
  }

  async page(query: PageQuery): Promise<Page> {
    // Every shard here and far enough: one task on the reader threads, as on a single node.
    if (this.#allLocal(query.maxSeq)) return this.#pages.page(query);
    const { rows, through, partial } = mergePageParts(await this.#parts<PagePart>({ op: 'page', query }), query);
    return { eventsJson: renderEvents(rows), count: rows.length, lastSeq: rows.length > 0 ? rows[rows.length - 1]!.seq : null, through, partial };
  }

  async search(query: SearchPageQuery): Promise<SearchResult> {
    if (this.#allLocal(query.maxSeq)) return this.#pages.search(query);
    const { rows, next, partial } = mergeSearchParts(await this.#parts<SearchPart>({ op: 'search', query }), query);
    return { eventsJson: renderEvents(rows), count: rows.length, next, partial };
  }

  async histogram(query: HistogramQuery): Promise<SearchHistogram> {
    return mergeHistogram(query, await this.#parts<HistogramPart>({ op: 'histogram', query }));
  }

  async top(query: TopQuery): Promise<SearchTop> {
    return mergeTop(valueFieldName(query.field), query.limit, await this.#parts<TopPart>({ op: 'top', query }));
  }

  async topics(query: TopicQuery): Promise<TopicRow[]> {
    if (this.#allLocal(null)) return this.#pages.topics(query);
    return mergeTopicParts(await this.#parts<TopicRow[]>({ op: 'topics', query }), query.limit);
  }

  /** Every shard's largest topics (or the named ones), summed by name: topic-view.ts ranks the cluster's topics from them. */
  async volumes(query: VolumeQuery): Promise<TopicVolumes> {
    return mergeVolumeParts(await this.#parts<VolumePart>({ op: 'volumes', query }));
  }

  groups(shard: number, name: string | null): Promise<GroupShardState[]> {
    return this.#part(shard, { op: 'groups', name }) as Promise<GroupShardState[]>;
  }

  dying(shard: number, name: string, seqs: readonly number[]): Promise<DyingMessage[]> {
    return this.#part(shard, { op: 'dying', name, seqs }) as Promise<DyingMessage[]>;
  }

  #allLocal(upTo: number | null): boolean {
    for (let shard = 0; shard < this.#options.shards; shard++) if (!this.#servesHere(shard, upTo)) return false;
    return true;
  }

  #servesHere(shard: number, upTo: number | null): boolean {
    return serves(this.#options.replica(shard), upTo);
  }

  /**
   * Every shard's part: here when this node's replica reached the read's watermark; else grouped by
   * a node that reported the shard caught up, one request per node; what that node cannot serve
   * (behind, let go, gone) is asked of the shard's queue group.
   */
  async #parts<Part>(read: ShardRead): Promise<Part[]> {
    const upTo = readsUpTo(read);
    const parts = new Array<Promise<unknown>>(this.#options.shards);
    const here: number[] = [];
    const byNode = new Map<string, number[]>();
    this.#turn++;
    for (let shard = 0; shard < this.#options.shards; shard++) {
      const holders = this.#options.holders(shard);
      if (this.#servesHere(shard, upTo)) here.push(shard);
      else if (holders.length === 0) parts[shard] = this.#part(shard, read);
      else {
        const node = holders[(shard + this.#turn) % holders.length]!;
        const shards = byNode.get(node);
        if (shards) shards.push(shard);
        else byNode.set(node, [shard]);
      }
    }
    if (here.length > 0) {
      const local = readLocally(this.#pages, here, read);
      // A replica let go (its file emptied) while its part was read: ask one that holds it.
      for (const [index, shard] of here.entries()) parts[shard] = local.then((done) => (this.#servesHere(shard, upTo) ? done[index] : this.#part(shard, read)));
    }
    for (const [node, shards] of byNode) {
      const answers = this.#askNode(node, { shards, read });
      for (const [index, shard] of shards.entries()) parts[shard] = answers.then((replies) => (replies?.[index]?.[0] === 'ok' ? replies[index]![1] : this.#part(shard, read)));
    }
    return (await Promise.all(parts)) as Part[];
  }

  /** One node's answers for several shards; null when it did not answer. */
  async #askNode(node: string, request: NodeRead): Promise<ShardReadReply[] | null> {
    try {
      return unpackMessage((await this.#nc.request(subjectOfNodeReads(node), packMessage(request), { timeout: kAskTimeoutMs })).data) as ShardReadReply[];
    } catch {
      return null;
    }
  }

  async #part(shard: number, read: ShardRead): Promise<unknown> {
    const upTo = readsUpTo(read);
    if (this.#servesHere(shard, upTo)) {
      const [part] = await readLocally(this.#pages, [shard], read);
      // The replica was let go (its file emptied) while the part was read: ask one that holds it.
      if (this.#servesHere(shard, upTo)) return part;
    }
    let why = 'no replica answered';
    for (let ask = 1; ask <= kAsks; ask++) {
      try {
        const answer = unpackMessage((await this.#nc.request(subjectOfReads(shard), packMessage(read), { timeout: kAskTimeoutMs })).data) as ShardReadReply;
        if (answer[0] === 'ok') return answer[1];
        if (answer[0] === 'error') throw new OverloadedError(`shard ${shard}'s replica could not read: ${answer[1]}`);
        why = 'its replicas are behind the watermark';
      } catch (error) {
        if (error instanceof OverloadedError) throw error;
        why = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, kRetryMs));
    }
    throw new OverloadedError(`no replica of shard ${shard} could serve this read (${why}); retry`);
  }
}
