/**
 * A log message as the shard thread's ring frame (shard-host.ts writes it): everything the apply
 * needs comes from the message, so every replica builds the same frame. The thread decodes the
 * body (shard-worker.ts `toLogBatch`): the position, then the message's data as it was published.
 */
import type { StoredMsg } from 'nats';
import { packMessage } from '../ring/codec.js';
import { kFlagCommand, kFlagLog } from '../ring/layout.js';
import type { FrameHeader } from '../ring/producer.js';
import type { LogPosition } from '../store/shard-db.js';
import { clockAfter, firstSeqOf, timestampMicrosOf } from './log-clock.js';
import { kHeaders } from './log-message.js';

export interface LogFrame {
  readonly header: FrameHeader;
  readonly chunks: readonly Uint8Array[];
  readonly bodyLength: number;
  /** The shard's position and clock once the frame is applied. */
  readonly position: LogPosition;
  /** The publishing node's id for the message ('' for a tick): its verdict waits under it. */
  readonly msgId: string;
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
  const prefix = packMessage(message.seq);
  return {
    header: {
      eventCount: events,
      flags: kFlagLog | (command ? kFlagCommand : 0),
      receivedAt: Number(headers.get(kHeaders.receivedAt) || 0),
      firstSeq: first,
      rejected: Number(headers.get(kHeaders.rejected) || 0),
    },
    chunks: [prefix, message.data],
    bodyLength: prefix.length + message.data.length,
    position: { seq: message.seq, clock: command ? first : clockAfter(first, events, shards) },
    msgId: headers.get('Nats-Msg-Id'),
    carriesEvents: events > 0,
  };
}
