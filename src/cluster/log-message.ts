/**
 * A shard log message (../shared/spec/cluster.md §2.2): its data is a frame body, the msgpack
 * event records of one or more requests back to back (or one command: a deletion, or the owner's
 * expiry, src/store/shard-commands.ts), and its headers
 * carry what the replicas need to apply it the same way. An empty message with only a clock header
 * is a tick: it only moves the shard's clock (frontier.ts).
 */
export const kHeaders = {
  /** Events in the message; the shard host advances the clock by it before the thread decodes them. */
  events: 'agg-n',
  /** ms since the epoch when the publishing node took the requests: their `received_at`. */
  receivedAt: 'agg-at',
  /** Events refused by validation at the publishing node since its previous message: counted on apply. */
  rejected: 'agg-rej',
  /** '1': the data is one command (a deletion or an expiry) instead of events. */
  command: 'agg-cmd',
  /** A tick's clock: the shard's clock moves at least to it (frontier.ts). */
  clock: 'agg-clock',
  /** Where the replicas push the verdict: set by a publishing node that holds no caught-up replica of the shard (verdict-relay.ts). */
  reply: 'agg-reply',
} as const;

/** Shard k's stream and the one subject it takes. */
export function streamName(shard: number): string {
  return `AGG_${shard}`;
}

export function subjectOf(shard: number): string {
  return `agg.${shard}`;
}

/**
 * Shard k's doorbell (shard-host.ts): an empty core message a node sends once the stream has
 * acknowledged a message of k, so the replicas read it then. Not `subjectOf(k)` itself: a
 * subscription there receives every message's whole body, which a replica reads again from the
 * stream's leader anyway, and it rings before the leader has stored the message.
 */
export function bellOf(shard: number): string {
  return `agg.bell.${shard}`;
}

/**
 * Data bytes of one message at most: NATS' default max_payload (1 MiB) holds the headers and this.
 * A request's share of a shard that is larger travels as several messages.
 */
export const kMaxMessageBytes = 1024 * 1024 - 16 * 1024;
