import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { event, publish, startServer, stats, waitFor } from './helper.js';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A strict reader of the Prometheus text format: every sample belongs to a family declared by HELP and TYPE. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment) {
      if (comment[1] === 'HELP') helped.add(comment[2]!);
      else types.set(comment[2]!, comment[3]!);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of match[2] ? match[2].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? [] : []) {
      const at = pair.indexOf('=');
      labels[pair.slice(0, at)] = pair.slice(at + 2, -1);
    }
    const family = match[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(match[1]!) || types.get(family) === 'histogram', `${match[1]} has no TYPE`);
    assert.ok(helped.has(match[1]!) || helped.has(family), `${match[1]} has no HELP`);
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { types, samples };
}

describe('GET /metrics', () => {
  test('exposes events by topic, requests by status, latency, rings and commits', async () => {
    const server = await startServer({ shards: 2 });
    await publish(server.url, [event({ topic: 'm.a', event_id: '1' }), event({ topic: 'm.a', event_id: '1' }), event({ topic: 'm.b', event_id: '2' })]);
    await publish(server.url, event({ topic: 'bad/topic' }));
    // A 422 is answered at once; the rejected count reaches disk in a frame of its own, a moment later.
    await waitFor(async () => (await stats(server.url)).shard_status.every((shard: { pending_frames: number }) => shard.pending_frames === 0), 'the rings to empty');
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    const { types, samples } = parseExposition(await response.text());
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, want]) => sample.labels[key] === want))?.value;

    assert.equal(value('aggregator_events_received_total', { topic: 'm.a' }), 2);
    assert.equal(value('aggregator_events_unique_total', { topic: 'm.a' }), 1);
    assert.equal(value('aggregator_events_duplicate_total', { topic: 'm.a' }), 1);
    assert.equal(value('aggregator_events_unique_total', { topic: 'm.b' }), 1);
    assert.equal(value('aggregator_events_rejected_total'), 1);
    assert.equal(value('aggregator_tail_subscribers'), 0);
    assert.equal(value('aggregator_http_requests_total', { route: 'publish', status: '200' }), 1);
    assert.equal(value('aggregator_http_requests_total', { route: 'publish', status: '422' }), 1);
    assert.equal(types.get('aggregator_publish_duration_seconds'), 'histogram');
    assert.equal(value('aggregator_publish_duration_seconds_count'), 2);
    assert.equal(value('aggregator_publish_duration_seconds_bucket', { le: '+Inf' }), 2);
    for (const shard of ['0', '1']) {
      assert.equal(value('aggregator_ring_capacity_bytes', { shard }), 32 * 1024 * 1024);
      assert.equal(value('aggregator_ring_used_bytes', { shard }), 0);
      assert.equal(value('aggregator_shard_healthy', { shard }), 1);
      assert.equal(typeof value('aggregator_search_pending_events', { shard }), 'number', 'the index backlog is exported per shard');
    }
    const committed = samples.filter((sample) => sample.name === 'aggregator_commit_events_sum').reduce((sum, sample) => sum + sample.value, 0);
    assert.equal(committed, (await stats(server.url)).received, 'commit sizes add up to the events received');
    const buckets = samples.filter((sample) => sample.name === 'aggregator_commit_duration_seconds_bucket' && sample.labels.shard === '0').map((sample) => sample.value);
    assert.ok(buckets.every((count, index) => index === 0 || count >= buckets[index - 1]!), 'buckets are cumulative');
    // The default durability: every acknowledgement waited for an fdatasync of its shard's WAL.
    assert.equal(types.get('aggregator_wal_sync_duration_seconds'), 'histogram');
    const syncs = samples.filter((sample) => sample.name === 'aggregator_wal_sync_duration_seconds_count').reduce((sum, sample) => sum + sample.value, 0);
    assert.ok(syncs >= 1, `fdatasyncs counted: ${syncs}`);
  });
});
