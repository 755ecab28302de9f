/**
 * Consumer groups' rules, pure (../../docs/API.md "Consumer groups"): a group's definition as a
 * PUT body gives it, the message ids, the commands a shard's writer runs on a group's state and
 * what it answers. Both engines carry the commands the same way as deletions (a command frame
 * into the shard's ring; a command message into the shard's log), so every replica agrees.
 */
import { AggregatorError } from '../errors.js';
import { isTopicGlob, topicGlobPattern } from '../search/glob.js';

export const groupNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Where a new group starts: every stored event, only later ones, after a cursor's seq, or from a receive time. */
export type GroupStart = 'earliest' | 'latest' | { readonly after: string } | { readonly since: string };

/** What may change of an existing group. */
export interface GroupLimits {
  readonly ack_wait_ms: number;
  readonly max_deliver: number;
  readonly max_pending: number;
  readonly backoff_ms: readonly number[];
}

/** A group as created: its selector and start (fixed for its life) and its limits, defaults filled in. */
export interface GroupDefinition extends GroupLimits {
  readonly topics: readonly string[];
  readonly start: GroupStart;
}

export const kGroupDefaults: GroupLimits = Object.freeze({ ack_wait_ms: 30_000, max_deliver: 5, max_pending: 1000, backoff_ms: Object.freeze([1000, 5000, 30_000]) });

/** Bounds that keep one group's state and one answer small. */
export const kGroupBounds = Object.freeze({ topics: 64, ackWaitMs: 24 * 3600 * 1000, maxDeliver: 1000, maxPending: 100_000, backoff: 32, fetchMax: 1000, waitMs: 60_000, ids: 1000 });


function invalid(message: string): AggregatorError {
  return new AggregatorError('invalid_group', message);
}

export function checkGroupName(name: string): string {
  if (!groupNamePattern.test(name)) throw invalid(`a group name matches ${groupNamePattern.source}, got ${JSON.stringify(name.slice(0, 80))}`);
  return name;
}

/** An integer field of a request body, `fallback` when absent; anything else is 400 `invalid_group`. */
export function integerField(body: Readonly<Record<string, unknown>>, key: string, fallback: number, min: number, max: number): number {
  const value = body[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`"${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return value;
}

/** A request body that must be a JSON object. */
export function objectBody(body: unknown, what = 'the body must be a JSON object'): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid(what);
  return body as Record<string, unknown>;
}

function limit(body: Readonly<Record<string, unknown>>, key: 'ack_wait_ms' | 'max_deliver' | 'max_pending', min: number, max: number): number {
  return integerField(body, key, kGroupDefaults[key], min, max);
}

/** What settles messages: the four verbs, each answer's count named for it. */
export type SettleVerb = 'ack' | 'nak' | 'term' | 'extend';
export const kSettleCounted: Readonly<Record<SettleVerb, string>> = Object.freeze({ ack: 'acked', nak: 'naked', term: 'terminated', extend: 'extended' });

export interface SettleRequest {
  readonly ids: readonly unknown[];
  /** nak: redeliver after this, or (null) after the backoff. */
  readonly delayMs: number | null;
  /** term: the dead letter's reason. */
  readonly reason?: string;
}

const kMaxReason = 256;

/** A settle's fields, from an HTTP body or a consume socket's message alike: `ids`, and `delay_ms` or `reason`. */
export function parseSettle(verb: SettleVerb, fields: Readonly<Record<string, unknown>>): SettleRequest {
  const { ids, reason } = fields;
  if (!Array.isArray(ids)) throw invalid('"ids" must be a list of message ids');
  if (ids.length > kGroupBounds.ids) throw invalid(`at most ${kGroupBounds.ids} ids in one call, got ${ids.length}`);
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > kMaxReason)) throw invalid(`"reason" must be a string of at most ${kMaxReason} characters`);
  const delayMs = verb === 'nak' && fields.delay_ms !== undefined ? integerField(fields, 'delay_ms', 0, 0, kGroupBounds.ackWaitMs) : null;
  return { ids, delayMs, ...(typeof reason === 'string' ? { reason } : {}) };
}

/** A PUT body as a definition, defaults filled in; anything else is 400 `invalid_group`. */
export function parseGroupBody(body: unknown): GroupDefinition {
  const fields = objectBody(body, 'the body must be a JSON object with at least "topics"');
  const known = new Set(['topics', 'start', 'ack_wait_ms', 'max_deliver', 'max_pending', 'backoff_ms']);
  for (const key of Object.keys(fields)) if (!known.has(key)) throw invalid(`unknown field ${JSON.stringify(key)}`);
  const topics = typeof fields.topics === 'string' ? [fields.topics] : fields.topics;
  if (!Array.isArray(topics) || topics.length === 0 || topics.length > kGroupBounds.topics) throw invalid(`"topics" must be a topic (or glob) or a list of 1 to ${kGroupBounds.topics} of them`);
  for (const topic of topics) {
    if (typeof topic !== 'string' || !isTopicGlob(topic)) throw invalid(`"topics": ${JSON.stringify(topic)} is not a topic name or glob (${topicGlobPattern})`);
  }
  const backoff = fields.backoff_ms ?? kGroupDefaults.backoff_ms;
  if (!Array.isArray(backoff) || backoff.length > kGroupBounds.backoff || !backoff.every((ms) => Number.isInteger(ms) && (ms as number) >= 0 && (ms as number) <= kGroupBounds.ackWaitMs)) {
    throw invalid(`"backoff_ms" must be a list of at most ${kGroupBounds.backoff} integers from 0 to ${kGroupBounds.ackWaitMs}`);
  }
  return {
    topics: [...new Set(topics as string[])].sort(),
    start: parseStart(fields.start ?? 'earliest'),
    ack_wait_ms: limit(fields, 'ack_wait_ms', 1, kGroupBounds.ackWaitMs),
    max_deliver: limit(fields, 'max_deliver', 1, kGroupBounds.maxDeliver),
    max_pending: limit(fields, 'max_pending', 1, kGroupBounds.maxPending),
    backoff_ms: backoff as number[],
  };
}

function parseStart(start: unknown): GroupStart {
  if (start === 'earliest' || start === 'latest') return start;
  if (typeof start === 'object' && start !== null && !Array.isArray(start)) {
    const keys = Object.keys(start);
    const value = (start as Record<string, unknown>)[keys[0]!];
    if (keys.length === 1 && keys[0] === 'after' && typeof value === 'string') return { after: value };
    if (keys.length === 1 && keys[0] === 'since' && typeof value === 'string' && !Number.isNaN(Date.parse(value)) && /^\d{4}-\d\d-\d\dT/.test(value)) return { since: value };
  }
  throw invalid(`"start" must be "earliest", "latest", {"after": "<cursor>"} or {"since": "<RFC 3339 time>"}, got ${JSON.stringify(start)}`);
}

/** How long after `at` a message delivered `deliveries` times waits beyond its ack wait (or after a nak): the backoff, its last value repeating. */
export function backoffAfter(limits: GroupLimits, deliveries: number): number {
  const list = limits.backoff_ms;
  return list.length === 0 ? 0 : list[Math.min(deliveries, list.length) - 1]!;
}

/** A message id names the event, not a delivery: `<shard>-<seq>`. */
export function messageId(shard: number, seq: number): string {
  return `${shard}-${seq}`;
}

/** The shard and seq of an id this service handed out; null for anything else (answered `unknown`). */
export function parseMessageId(id: unknown, shards: number): { readonly shard: number; readonly seq: number } | null {
  if (typeof id !== 'string') return null;
  const match = /^(\d{1,4})-(\d{1,16})$/.exec(id);
  if (!match) return null;
  const shard = Number(match[1]);
  const seq = Number(match[2]);
  return shard < shards && Number.isSafeInteger(seq) ? { shard, seq } : null;
}

/** The topic a group's dead letters are stored in. */
export function deadLetterTopic(group: string): string {
  return `dead.${group}`;
}

/** The dead letter's event_id: the original's identity, so storing it twice is a duplicate (exactly once). */
export function deadLetterId(topic: string, eventId: string): string {
  return `${topic}/${eventId}`;
}

// --- what the reader threads read of a group in one shard (src/store/group-reads.ts)

/** One group in one shard. */
export interface GroupShardState {
  readonly name: string;
  readonly definition: GroupDefinition;
  readonly delivered: number;
  readonly acked: number;
  readonly redelivered: number;
  readonly dead_lettered: number;
  readonly skipped: number;
  readonly pending: number;
  /** Matching events not yet delivered (past the first-delivery scan); `lagBounded`: counting stopped at the bound. */
  readonly lag: number;
  readonly lagBounded: boolean;
  /** Every matching event at or below it is acked or dead-lettered; null: every one up to the shard's last (nothing pending, no lag). */
  readonly floor: number | null;
}

/** A dying message as its dead letter needs it. */
export interface DyingMessage {
  readonly seq: number;
  readonly deliveries: number;
  readonly reason: string;
  /** The original event as JSON, or null when it is gone (expired or deleted meanwhile). */
  readonly eventJson: string | null;
  readonly topic: string | null;
  readonly eventId: string | null;
}

// --- the commands a shard's writer runs (src/store/groups.ts), and its answers

/** Create (or, same selector and start, update the limits of) a group; `startSeq` resolved by the sender, `sinceMs` by each writer. */
export interface GroupPut {
  readonly kind: 'group_put';
  readonly name: string;
  readonly definition: GroupDefinition;
  /** First deliveries take events after this seq; null: from `sinceMs` (a receive time), looked up in the shard. */
  readonly startSeq: number | null;
  readonly sinceMs: number | null;
}

export interface GroupDrop {
  readonly kind: 'group_delete';
  readonly name: string;
}

/** Hand out up to `max` messages at `at`: due redeliveries first, then the next events in seq order. */
export interface GroupDeliver {
  readonly kind: 'group_deliver';
  readonly name: string;
  readonly max: number;
  readonly at: number;
}

/** ack, nak (redeliver after `delayMs`, or the backoff when null), extend (restart the ack wait), term (dead-letter), dead (the dead letter is stored: leave the group). */
export interface GroupSettle {
  readonly kind: 'group_ack' | 'group_nak' | 'group_extend' | 'group_term' | 'group_dead';
  readonly name: string;
  readonly seqs: readonly number[];
  readonly at: number;
  readonly delayMs?: number | null;
  readonly reason?: string;
}

export type GroupCommand = GroupPut | GroupDrop | GroupDeliver | GroupSettle;

/** Per seq of a settle command: not a pending message of the group; done; no longer pending (acked or dead-lettered). */
export const kSettle = Object.freeze({ unknown: 0, done: 1, gone: 2 });

export interface GroupReply {
  /** The group does not exist in this shard. */
  readonly missing: boolean;
  /** group_put: made now; or it exists with another selector or start. */
  readonly created?: boolean;
  readonly conflict?: boolean;
  /** group_deliver: [seq, delivery count] of each message handed out. */
  readonly granted?: readonly (readonly [number, number])[];
  /** group_deliver: each granted message's event, rendered as the API serves it, in `granted`'s order. */
  readonly events?: readonly string[];
  /** Settle commands: per seq, a `kSettle` value. */
  readonly statuses?: readonly number[];
  /** Messages whose dead letter is to be stored (after term, or max_deliver reached): then `group_dead`. */
  readonly dying?: readonly number[];
  /** Delivered and not yet acked or dead-lettered, in this shard, after the command. */
  readonly pending: number;
  /** The earliest time a pending message becomes deliverable again, ms; null: none. */
  readonly nextDue: number | null;
}
