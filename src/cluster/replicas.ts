/**
 * This node's replicas of every shard (../shared/spec/cluster.md §2.4): one `ShardHost` per
 * shard over the local core, reading the log from the stream leaders, and the rebuild
 * from a snapshot each may need (a node joining with nothing, or one away across a purge).
 */
import { headers, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import type { LocalShards } from '../local/local-shards.js';
import type { LogPosition } from '../store/log-position.js';
import type { Frontier } from './frontier.js';
import { streamName } from './log-message.js';
import type { FollowedMessage, LogReader } from './log-reads.js';
import { ShardHost } from './shard-host.js';
import type { SnapshotStore } from './snapshot-store.js';
import { restoreLatest } from './snapshots.js';
import type { VerdictBoard } from './verdicts.js';

export interface ReplicaParts {
  readonly nc: NatsConnection;
  /** For the reads: with a short request timeout (a read in flight when its server goes away waits it out). */
  readonly jsm: JetStreamManager;
  readonly local: LocalShards;
  readonly board: VerdictBoard;
  readonly frontier: Frontier;
  readonly snapshots: SnapshotStore;
  readonly dataDir: string;
  readonly shardRetryMs: number;
  readonly onNotice: (message: string) => void;
}

/** Messages an ordered consumer asks for at once (a new pull goes out when half have come). */
const kFollowBatch = 256;

/**
 * A consumer's messages as the replica reads them. The stored time comes from the ack subject's
 * nanosecond token, as text: nats.js parses it into a float (`timestampNanos`), which cannot hold
 * 19 digits, and every replica must derive the same clock from a message whichever way it read it
 * (a get carries the same instant as RFC 3339 text). `reply` is on nats.js's message object but not
 * in its JsMsg interface.
 */
async function* followed(messages: AsyncIterable<JsMsg>): AsyncIterable<FollowedMessage> {
  for await (const message of messages) {
    yield {
      message: { seq: message.seq, header: message.headers ?? headers(), data: message.data, timestamp: rfc3339FromAckSubject((message as JsMsg & { readonly reply: string }).reply) },
      pending: message.info.pending,
    };
  }
}

/** `$JS.ACK.[<domain>.<account>.]<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ns>.<pending>[.<random>]` → the stored time as RFC 3339 with nanoseconds. */
export function rfc3339FromAckSubject(subject: string): string {
  const tokens = subject.split('.');
  const nanos = tokens.length === 9 ? tokens[7] : tokens[9];
  if (nanos === undefined || !/^\d{10,}$/.test(nanos)) throw new Error(`not a JetStream ack subject: ${subject}`);
  const seconds = Number(nanos.slice(0, -9));
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${nanos.slice(-9)}Z`;
}

/**
 * Starts a replica per shard from the position its file holds (`positions`) and resolves once
 * each has applied its stream up to `lastSeqs`: the node answers nothing before it is caught up.
 */
export async function startReplicas(parts: ReplicaParts, positions: readonly LogPosition[], lastSeqs: readonly number[]): Promise<ShardHost[]> {
  const { jsm, local, board, frontier, snapshots } = parts;
  // Reads go to each stream's leader: a direct get may be routed to a replica whose server is
  // paused, which never answers, and a lagging replica's view is not the leader's.
  const js = parts.nc.jetstream();
  const reader: LogReader = {
    getMessage: (stream, query) => jsm.streams.getMessage(stream, query),
    extent: async (stream) => {
      const { state } = await jsm.streams.info(stream);
      return { first: state.first_seq, last: state.last_seq };
    },
    follow: async (stream, from) => {
      const consumer = await js.consumers.get(stream, { opt_start_seq: from });
      const messages = await consumer.consume({ max_messages: kFollowBatch });
      return { messages: followed(messages), close: () => void messages.close() };
    },
  };
  // A replica replaced by a snapshot (the core moves the totals by its counters' difference): the
  // verdicts this node waits for in what it skipped will never come (they fail as 503s).
  const rebuild = async (shard: number, through: number): Promise<LogPosition> => {
    const position = await restoreLatest(snapshots, local, parts.dataDir, shard, through);
    frontier.advance(shard, position.clock, true);
    board.failAll(`shard ${shard} was rebuilt from a snapshot; retry`);
    return position;
  };
  const hosts = positions.map(
    (position, shard) =>
      new ShardHost(
        parts.nc,
        reader,
        local,
        board,
        {
          shard,
          shards: positions.length,
          stream: streamName(shard),
          retryMs: parts.shardRetryMs,
          onApplied: (k, applied, event) => frontier.advance(k, applied.clock, event),
          rebuild,
          onNotice: parts.onNotice,
        },
        position,
      ),
  );
  // An empty replica starts from the latest snapshot, if there is one, not from the log's first message.
  for (const [shard, position] of positions.entries()) if (position.seq === 0 && (await snapshots.pointer(shard))) hosts[shard]!.startFromSnapshot();
  for (const host of hosts) host.start();
  await Promise.all(hosts.map((host, shard) => host.reach(lastSeqs[shard]!)));
  return hosts;
}
