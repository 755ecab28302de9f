/**
 * This node's replicas of every shard (../shared/spec/cluster.md §2.4): one `ShardHost` per
 * shard over the local core, reading the log from the stream leaders, and the rebuild
 * from a snapshot each may need (a node joining with nothing, or one away across a purge).
 */
import type { JetStreamManager, NatsConnection } from 'nats';
import type { LocalShards } from '../local/local-shards.js';
import type { LogPosition } from '../store/log-position.js';
import type { Frontier } from './frontier.js';
import { streamName } from './log-message.js';
import type { LogReader } from './log-reads.js';
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

/**
 * Starts a replica per shard from the position its file holds (`positions`) and resolves once
 * each has applied its stream up to `lastSeqs`: the node answers nothing before it is caught up.
 */
export async function startReplicas(parts: ReplicaParts, positions: readonly LogPosition[], lastSeqs: readonly number[]): Promise<ShardHost[]> {
  const { jsm, local, board, frontier, snapshots } = parts;
  // Reads go to each stream's leader: a direct get may be routed to a replica whose server is
  // paused, which never answers, and a lagging replica's view is not the leader's.
  const reader: LogReader = {
    getMessage: (stream, query) => jsm.streams.getMessage(stream, query),
    extent: async (stream) => {
      const { state } = await jsm.streams.info(stream);
      return { first: state.first_seq, last: state.last_seq };
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
