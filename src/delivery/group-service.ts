/**
 * Consumer groups on the ingress thread: the routes' verbs over the storage seam. Every change of
 * a group's state is a command that shards' writers run in order with their commits
 * (`CommitPath.groupCommand`), so the writer, not this thread, decides what may be delivered: two
 * fetchers (on this node or another) can never be granted one message inside its ack wait. This
 * thread adds what spans the shards: `max_pending` across them, long-polls, dead letters, views.
 */
import { decodeCursor as decodeCursorOf, encodeCursor } from '../events/cursor.js';
import { AggregatorError, OverloadedError } from '../errors.js';
import { checkGroupName, kSettle, kSettleCounted, messageId, parseGroupBody, parseMessageId, type GroupCommand, type GroupReply, type GroupSettle, type GroupShardState, type SettleRequest, type SettleVerb } from '../groups/model.js';
import type { GroupView } from '../events/responses.js';
import type { Watermark } from '../ingest/storage.js';
import { DeadLetters, type DeadLetterParts } from './dead-letters.js';
import { GroupWaits } from './group-waits.js';

export interface GroupServiceParts extends DeadLetterParts {
  readonly watermark: Watermark;
}

/** What this node knows of one group between commands: each shard's pending count, the fetches waiting. */
interface Local {
  readonly pending: number[];
  maxPending: number;
  ackWaitMs: number;
  reserved: number;
  readonly nextDue: (number | null)[];
  readonly consumers: Map<string, number>;
}

const kConsumerWindowMs = 60_000;
const kRecentMs = 1000;
const kMaxConsumers = 10_000;
/** A waiting fetch looks again at least this often: another node's acks and deliveries do not wake it. */
const kRecheckMs = 1000;
const kSettleStatus: Record<SettleVerb, readonly [string, string, string]> = {
  ack: ['unknown', 'acked', 'already_acked'],
  nak: ['unknown', 'ok', 'not_pending'],
  term: ['unknown', 'ok', 'not_pending'],
  extend: ['unknown', 'ok', 'not_pending'],
};

export class GroupService {
  readonly #parts: GroupServiceParts;
  readonly #shards: number;
  readonly #local = new Map<string, Local>();
  readonly #waits = new GroupWaits();
  readonly #deadLetters: DeadLetters;
  /** Live WebSocket consumers per group: they count as consumers while connected. */
  readonly #sockets = new Map<string, number>();
  #turn = 0;
  #closing = false;
  #listed: readonly GroupView[] = [];
  #listedAt = Number.NEGATIVE_INFINITY;
  #listing: Promise<GroupView[]> | null = null;

  constructor(parts: GroupServiceParts) {
    this.#parts = parts;
    this.#shards = parts.commitPath.shardCount;
    this.#deadLetters = new DeadLetters(parts, (name, shard, reply) => this.#heard(name, shard, reply));
    parts.watermark.onAdvance(() => this.#waits.committed());
  }

  async put(name: string, body: unknown): Promise<{ created: boolean; view: GroupView }> {
    checkGroupName(name);
    const definition = parseGroupBody(body);
    const { start } = definition;
    const startSeq = start === 'earliest' ? 0 : start === 'latest' ? this.#parts.watermark.current : 'after' in start ? decodeStart(start.after, this.#parts.watermark.cursorVersion) : null;
    const sinceMs = typeof start === 'object' && 'since' in start ? Date.parse(start.since) : null;
    const replies = await this.#everyShard({ kind: 'group_put', name, definition, startSeq, sinceMs });
    if (replies.some((reply) => reply.conflict)) throw new AggregatorError('group_conflict', `group ${JSON.stringify(name)} exists with other topics or start: delete it first, or PUT the same ones`);
    const local = this.#local.get(name);
    if (local) {
      local.maxPending = definition.max_pending;
      local.ackWaitMs = definition.ack_wait_ms;
    }
    this.#waits.wake(name);
    return { created: replies.some((reply) => reply.created), view: await this.view(name) };
  }

  async delete(name: string): Promise<void> {
    checkGroupName(name);
    const replies = await this.#everyShard({ kind: 'group_delete', name });
    this.#local.delete(name);
    this.#waits.wake(name);
    if (replies.every((reply) => reply.missing)) throw notFound(name);
  }

  async view(name: string): Promise<GroupView> {
    checkGroupName(name);
    const views = await this.list(name);
    if (views.length === 0) throw notFound(name);
    return views[0]!;
  }

  /**
   * Every group, at most a second old: for /stats, which the dashboard polls every second, so a
   * group's lag is counted at most once a second however many ask. One listing at a time.
   */
  listed(): Promise<readonly GroupView[]> {
    if (performance.now() - this.#listedAt <= kRecentMs) return Promise.resolve(this.#listed);
    this.#listing ??= this.list().finally(() => (this.#listing = null));
    return this.#listing;
  }

  /** The groups as last listed, for what must answer at once (/metrics): a stale list is read again behind the answer. */
  recent(): readonly GroupView[] {
    this.listed().catch(() => {});
    return this.#listed;
  }

  /** Every group (or `name` alone), merged over the shards. */
  async list(name: string | null = null): Promise<GroupView[]> {
    const parts = await Promise.all(Array.from({ length: this.#shards }, (_, shard) => this.#parts.pages.groups(shard, name)));
    const byName = new Map<string, GroupShardState[]>();
    for (const states of parts) for (const state of states) byName.set(state.name, [...(byName.get(state.name) ?? []), state]);
    const views = [...byName].sort(([a], [b]) => (a < b ? -1 : 1)).map(([group, states]) => this.#merge(group, states));
    if (name === null) {
      this.#listed = views;
      this.#listedAt = performance.now();
    }
    return views;
  }

  /** Long-polls until a message is granted or `waitMs` passes: each message as JSON (none: the wait passed). */
  async fetch(name: string, max: number, waitMs: number, consumer: string): Promise<string[]> {
    checkGroupName(name);
    if (this.#closing) throw new OverloadedError('the service is stopping');
    const deadline = performance.now() + waitMs;
    const local = await this.#localOf(name);
    seen(local.consumers, consumer);
    for (;;) {
      const room = Math.min(max, local.maxPending - local.pending.reduce((sum, pending) => sum + pending, 0) - local.reserved);
      if (room > 0) {
        local.reserved += room;
        let messages: string[];
        try {
          messages = await this.#deliver(name, room, local.ackWaitMs);
        } finally {
          local.reserved -= room;
        }
        if (messages.length > 0) return messages;
      }
      const left = deadline - performance.now();
      if (left <= 0) return [];
      const due = Math.min(...local.nextDue.map((at) => (at === null ? Infinity : at - Date.now())));
      await this.#waits.wait(name, Math.max(1, Math.min(left, kRecheckMs, due)));
      if (this.#closing) return [];
      if (!this.#local.has(name)) throw notFound(name);
    }
  }

  /**
   * ack, nak, term or extend the messages `ids` name; answers once committed (a term: once its
   * dead letter is stored too), as the route and the consume socket send it: `{"<counted>": n, "results": [...]}`.
   */
  async settle(verb: SettleVerb, name: string, { ids, delayMs, reason }: SettleRequest): Promise<Record<string, unknown>> {
    checkGroupName(name);
    const statuses = new Array<number>(ids.length).fill(kSettle.unknown);
    const byShard = new Map<number, { seqs: number[]; positions: number[] }>();
    ids.forEach((id, position) => {
      const parsed = parseMessageId(id, this.#shards);
      if (!parsed) return;
      let entry = byShard.get(parsed.shard);
      if (!entry) byShard.set(parsed.shard, (entry = { seqs: [], positions: [] }));
      entry.seqs.push(parsed.seq);
      entry.positions.push(position);
    });
    const at = Date.now();
    const kind = `group_${verb}` as GroupSettle['kind'];
    // A group with no valid id still has to exist: ask one shard.
    if (byShard.size === 0) byShard.set(0, { seqs: [], positions: [] });
    const answered = await Promise.all(
      [...byShard].map(async ([shard, { seqs, positions }]) => {
        const command: GroupSettle = { kind, name, seqs, at, ...(verb === 'nak' ? { delayMs } : {}), ...(verb === 'term' ? { reason: reason ?? 'term' } : {}) };
        const reply = await this.#command(shard, name, command);
        reply.statuses?.forEach((status, index) => (statuses[positions[index]!] = status));
        if (reply.dying && reply.dying.length > 0) await this.#deadLetters.bury(name, shard, reply.dying);
        return reply;
      }),
    );
    if (answered.every((reply) => reply.missing)) throw notFound(name);
    this.#waits.wake(name);
    const words = kSettleStatus[verb];
    return { [kSettleCounted[verb]]: statuses.filter((status) => status === kSettle.done).length, results: ids.map((id, position) => ({ id, status: words[statuses[position]!]! })) };
  }

  /** A WebSocket consumer came (+1) or went (-1). */
  socket(name: string, change: 1 | -1): void {
    const count = (this.#sockets.get(name) ?? 0) + change;
    if (count > 0) this.#sockets.set(name, count);
    else this.#sockets.delete(name);
  }

  /** The service is closing: waiting fetches answer with nothing at once, new ones get 503. */
  close(): void {
    this.#closing = true;
    this.#waits.wakeAll();
  }

  async #deliver(name: string, max: number, ackWaitMs: number): Promise<string[]> {
    // Rotating which shards get the larger shares (and, for a small max, any share at all).
    const turn = this.#turn++ % this.#shards;
    const quotas = splitEvenly(max, this.#shards).map((_, shard, shares) => shares[(shard - turn + this.#shards) % this.#shards]!);
    // The earliest lease start of the fetch: a message whose ack wait is over before the answer goes out is left for its redelivery.
    const at = Date.now();
    const messages: { seq: number; json: string }[] = [];
    const ask = async (shard: number, quota: number): Promise<boolean> => {
      const reply = await this.#command(shard, name, { kind: 'group_deliver', name, max: quota, at });
      if (reply.missing) throw notFound(name);
      const granted = reply.granted ?? [];
      granted.forEach(([seq, count], index) => messages.push({ seq, json: `{"id":"${messageId(shard, seq)}","delivery_count":${count},"event":${reply.events![index]!}}` }));
      if (reply.dying && reply.dying.length > 0) void this.#deadLetters.bury(name, shard, reply.dying).catch(() => {});
      return granted.length === quota;
    };
    // A shard that cannot answer now (a failover in cluster mode, a shard that cannot commit) holds
    // back only its own messages: the fetch answers with the others', and fails only when all failed.
    const asked = await Promise.allSettled(quotas.map((quota, shard) => (quota > 0 ? ask(shard, quota) : Promise.resolve(false))));
    const failures = asked.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    const missing = failures.find((reason) => reason instanceof AggregatorError && reason.code === 'group_not_found');
    if (missing !== undefined || failures.length === asked.filter((_, shard) => quotas[shard]! > 0).length) throw missing ?? failures[0];
    const full = asked.map((outcome) => outcome.status === 'fulfilled' && outcome.value);
    // One more round for what the shards that ran dry left over, from the ones that did not (or were not asked).
    const left = max - messages.length;
    const busy = full.flatMap((wasFull, shard) => (wasFull || quotas[shard] === 0 ? [shard] : []));
    if (left > 0 && busy.length > 0 && busy.length < this.#shards) {
      const more = splitEvenly(left, busy.length);
      await Promise.allSettled(busy.map((shard, index) => (more[index]! > 0 ? ask(shard, more[index]!) : Promise.resolve(false))));
    }
    // A log that stalled (cluster failover) may bring the grants back late: never hand out a lease already over.
    if (Date.now() >= at + ackWaitMs) return [];
    // First deliveries in seq order across the group's topics (and shards).
    return messages.sort((a, b) => a.seq - b.seq).map((message) => message.json);
  }

  async #command(shard: number, name: string, command: GroupCommand): Promise<GroupReply> {
    const reply = await this.#parts.commitPath.groupCommand(shard, command);
    this.#heard(name, shard, reply);
    return reply;
  }

  #heard(name: string, shard: number, reply: GroupReply): void {
    const local = this.#local.get(name);
    if (!local) return;
    if (reply.missing) {
      this.#local.delete(name);
      return;
    }
    local.pending[shard] = reply.pending;
    local.nextDue[shard] = reply.nextDue;
  }

  #everyShard(command: GroupCommand): Promise<GroupReply[]> {
    return Promise.all(Array.from({ length: this.#shards }, (_, shard) => this.#parts.commitPath.groupCommand(shard, command)));
  }

  async #localOf(name: string): Promise<Local> {
    const known = this.#local.get(name);
    if (known) return known;
    const parts = await Promise.all(Array.from({ length: this.#shards }, (_, shard) => this.#parts.pages.groups(shard, name)));
    const states = parts.map((list) => list[0]);
    const any = states.find((state) => state !== undefined);
    if (!any) throw notFound(name);
    const local: Local = { pending: states.map((state) => state?.pending ?? 0), maxPending: any.definition.max_pending, ackWaitMs: any.definition.ack_wait_ms, reserved: 0, nextDue: states.map(() => Date.now()), consumers: new Map() };
    this.#local.set(name, this.#local.get(name) ?? local);
    return this.#local.get(name)!;
  }

  #merge(name: string, states: readonly GroupShardState[]): GroupView {
    const sum = (key: 'delivered' | 'acked' | 'redelivered' | 'dead_lettered' | 'skipped' | 'pending' | 'lag'): number => states.reduce((total, state) => total + state[key], 0);
    const { definition } = states[0]!;
    const watermark = this.#parts.watermark.current;
    const floor = Math.min(watermark, ...states.map((state) => state.floor ?? Infinity));
    const since = Date.now() - kConsumerWindowMs;
    const fetchers = [...(this.#local.get(name)?.consumers.values() ?? [])].filter((seen) => seen >= since).length;
    return {
      name,
      ...definition,
      topics: [...definition.topics],
      backoff_ms: [...definition.backoff_ms],
      state: {
        delivered: sum('delivered'),
        acked: sum('acked'),
        redelivered: sum('redelivered'),
        dead_lettered: sum('dead_lettered'),
        skipped: sum('skipped'),
        pending: sum('pending'),
        lag: sum('lag'),
        ack_floor: encodeCursor(Math.max(0, floor), this.#parts.watermark.cursorVersion),
        consumers: fetchers + (this.#sockets.get(name) ?? 0),
      },
    };
  }
}

/**
 * Notes a fetcher as seen now. Bounded, since names come from clients: past kMaxConsumers the
 * names seen least recently go (a name seen again moves to the end).
 */
function seen(consumers: Map<string, number>, consumer: string): void {
  consumers.delete(consumer);
  consumers.set(consumer, Date.now());
  for (const name of consumers.keys()) {
    if (consumers.size <= kMaxConsumers) break;
    consumers.delete(name);
  }
}

function notFound(name: string): AggregatorError {
  return new AggregatorError('group_not_found', `no consumer group ${JSON.stringify(name)}`);
}

function decodeStart(cursor: string, version: 1 | 2): number {
  try {
    return decodeCursorOf(cursor, version);
  } catch (error) {
    throw new AggregatorError('invalid_group', `"start": ${(error as Error).message}`);
  }
}

/** `total` in `parts` shares that differ by at most one. */
function splitEvenly(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0));
}

/** The `limit` groups with the most pending (then lag), for answers bounded like the topic lists. */
export function largestGroups(views: readonly GroupView[], limit: number): GroupView[] {
  return [...views].sort((a, b) => b.state.pending - a.state.pending || b.state.lag - a.state.lag || (a.name < b.name ? -1 : 1)).slice(0, limit);
}
