import type { StoredEvent } from '../events/responses.js';
import { ConsumerError, isRecord } from './http.js';

/**
 * The consumer-group routes' bodies as the client sees them: what it sends, and checks of what
 * comes back. The checks are deliberately shallow (the fields the client relies on); a reply
 * missing them is a `bad_reply`, extra fields are ignored so the server can grow its answers.
 */

export type { StoredEvent };

/** Where a new group starts: every stored event, only later ones, after a cursor, or from a time. */
export type GroupStart = 'earliest' | 'latest' | { readonly after: string } | { readonly since: string };

/** A group to create (PUT /groups/{name}); only `topics` is required, the server fills the rest. */
export interface GroupConfig {
  /** A topic, a glob (`orders.*`), or a list of them. */
  readonly topics: string | readonly string[];
  readonly start?: GroupStart;
  readonly ackWaitMs?: number;
  readonly maxDeliver?: number;
  readonly maxPending?: number;
  readonly backoffMs?: readonly number[];
}

/** One delivery of one stored event. */
export interface Message {
  /** Names the event within the group (not the delivery): a redelivery carries the same id. */
  readonly id: string;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly event: StoredEvent;
}

/** What an ack answered for one id: `already_acked` is harmless (e.g. a retried ack whose first answer was lost). */
export type AckStatus = 'acked' | 'already_acked' | 'unknown';

export interface SettleResult {
  readonly id: string;
  readonly status: string;
}

/** GET /groups/{name}, as the server sends it. */
export interface GroupInfo {
  readonly name: string;
  readonly topics: readonly string[] | string;
  readonly start: GroupStart;
  readonly ack_wait_ms: number;
  readonly max_deliver: number;
  readonly max_pending: number;
  readonly backoff_ms: readonly number[];
  readonly state: {
    readonly delivered: number;
    readonly acked: number;
    readonly redelivered: number;
    readonly dead_lettered: number;
    readonly pending: number;
    readonly lag: number;
    readonly ack_floor: string | number | null;
    readonly consumers: number;
  };
}

/** The PUT body: snake_case as on the wire, unset limits left out so the server's defaults apply. */
export function groupBody(config: GroupConfig): Record<string, unknown> {
  const body: Record<string, unknown> = { topics: typeof config.topics === 'string' ? config.topics : [...config.topics] };
  if (config.start !== undefined) body.start = config.start;
  if (config.ackWaitMs !== undefined) body.ack_wait_ms = config.ackWaitMs;
  if (config.maxDeliver !== undefined) body.max_deliver = config.maxDeliver;
  if (config.maxPending !== undefined) body.max_pending = config.maxPending;
  if (config.backoffMs !== undefined) body.backoff_ms = [...config.backoffMs];
  return body;
}

function badReply(what: string, detail: string, body: unknown): ConsumerError {
  return new ConsumerError('bad_reply', `${what} answered ${detail}: ${JSON.stringify(body)?.slice(0, 200)}`);
}

/** `{"messages": [{id, delivery_count, event}]}` as Messages. */
export function parseFetchReply(what: string, body: unknown): Message[] {
  if (!isRecord(body) || !Array.isArray(body.messages)) throw badReply(what, 'without a "messages" list', body);
  return body.messages.map((item: unknown) => {
    const event = isRecord(item) ? item.event : null;
    if (
      !isRecord(item) || typeof item.id !== 'string' || !Number.isInteger(item.delivery_count) ||
      !isRecord(event) || typeof event.topic !== 'string' || typeof event.event_id !== 'string'
    ) {
      throw badReply(what, 'a message without id, delivery_count or event {topic, event_id}', item);
    }
    // The event's other fields are passed through as the server sent them.
    return { id: item.id, deliveryCount: item.delivery_count as number, event: event as unknown as StoredEvent };
  });
}

/** `{"results": [{id, status}]}` of ack, nak, term and extend. */
export function parseSettleReply(what: string, body: unknown): SettleResult[] {
  if (!isRecord(body) || !Array.isArray(body.results)) throw badReply(what, 'without a "results" list', body);
  return body.results.map((item: unknown) => {
    if (!isRecord(item) || typeof item.id !== 'string' || typeof item.status !== 'string') throw badReply(what, 'a result without id and status', item);
    return { id: item.id, status: item.status };
  });
}

export function parseGroupInfo(what: string, body: unknown): GroupInfo {
  if (!isRecord(body) || typeof body.name !== 'string' || !isRecord(body.state)) throw badReply(what, 'without name and state', body);
  return body as unknown as GroupInfo;
}

export function ackStatus(status: string): AckStatus {
  return status === 'acked' || status === 'already_acked' ? status : 'unknown';
}
