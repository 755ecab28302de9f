/**
 * A log message as the local core applies it (shard-host.ts hands it over): everything the apply
 * needs comes from the message, so every replica applies the same thing at the same position.
 */
import type { StoredMsg } from 'nats';
import type { LogEntry } from '../local/local-shards.js';
import type { LogPosition } from '../store/log-position.js';
import { clockAfter, firstSeqOf } from '../store/log-position.js';
import { timestampMicrosOf } from './log-timestamp.js';
import { kHeaders } from './log-message.js';

export interface LogFrame {
  readonly entry: LogEntry;
  /** The shard's position and clock once the frame is applied. */
  readonly position: LogPosition;
  /** The publishing node's id for the message ('' for a tick): its verdict waits under it. */
  readonly msgId: string;
  /** Where to push the verdict ('' when the publishing node applies the message itself). */
  readonly replyTo: string;
  readonly carriesEvents: boolean;
}

/** The frame of `message`, applied after a shard clock of `clock`. */
export function logFrame(message: StoredMsg, clock: number, shard: number, shards: number): LogFrame {
  const headers = message.header;
  const events = Number(headers.get(kHeaders.events) || 0);
  const command = headers.get(kHeaders.command) === '1';
  // A tick names the clock to reach; every other message starts at its log timestamp.
  const at = Math.max(timestampMicrosOf(message.timestamp), Number(headers.get(kHeaders.clock) || 0));
  const first = firstSeqOf(clock, at, shard, shards);
  return {
    entry: {
      position: message.seq,
      firstSeq: first,
      eventCount: events,
      command,
      receivedAt: Number(headers.get(kHeaders.receivedAt) || 0),
      rejected: Number(headers.get(kHeaders.rejected) || 0),
      data: message.data,
    },
    position: { seq: message.seq, clock: command ? first : clockAfter(first, events, shards) },
    msgId: headers.get('Nats-Msg-Id'),
    replyTo: headers.get(kHeaders.reply),
    carriesEvents: events > 0,
  };
}
