/**
 * The NATS side of a cluster, made once and checked at every start: one stream per shard (never
 * re-made: a re-made stream name can confuse 2.9's replicas) and the shard count the cluster was
 * first started with.
 */
import { isApiError } from './nats-errors.js';
import { RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from 'nats';
import { ConfigError } from '../errors.js';
import { streamName, subjectOf } from './log-message.js';

/** The streams' duplicate window: a publish is retried with its id for well under it. */
const kDuplicateWindowMs = 120_000;

/** The shard count is the cluster's, fixed when it was first started (an event's shard depends on it): a node with another refuses to start. */
export async function checkShardCount(js: JetStreamClient, shards: number, replicas: number): Promise<void> {
  const meta = await js.views.kv('agg_meta', { history: 1, replicas, allow_direct: false });
  try {
    await meta.create('shards', new TextEncoder().encode(String(shards)));
    return;
  } catch (error) {
    if (!isApiError(error, 'wrongLastSequence')) throw error;
  }
  const entry = await meta.get('shards');
  const found = entry ? Number(new TextDecoder().decode(entry.value)) : shards;
  if (found !== shards) throw new ConfigError(`the cluster was made with --shards ${found}; this node has --shards ${shards}`);
}

/** Makes each shard's stream when missing; returns each one's last position now. */
export async function ensureStreams(jsm: JetStreamManager, shards: number, replicas: number): Promise<number[]> {
  const lastSeqs: number[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const name = streamName(shard);
    let info = await jsm.streams.info(name).catch((error: unknown) => {
      if (isApiError(error, 'streamNotFound')) return null;
      throw error;
    });
    info ??= await jsm.streams.add({
      name,
      subjects: [subjectOf(shard)],
      num_replicas: replicas,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: kDuplicateWindowMs * 1_000_000,
      max_msg_size: 1024 * 1024,
      // No direct-get responders: one on a paused server swallows the requests routed to it.
      allow_direct: false,
    });
    if (info.config.subjects?.[0] !== subjectOf(shard)) throw new ConfigError(`stream ${name} exists and does not take ${subjectOf(shard)}: not a stream of this service`);
    lastSeqs.push(info.state.last_seq);
  }
  return lastSeqs;
}
