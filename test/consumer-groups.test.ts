import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { ackMessages, allEvents, event, fetchMessages, getJson, groupCall, makeTempDir, publish, startServer, waitFor, type Message } from './helper.js';

const ids = (messages: readonly Message[]): string[] => messages.map((message) => message.id);
const eventIds = (messages: readonly Message[]): string[] => messages.map((message) => message.event.event_id);

async function publishAll(url: string, topic: string, count: number, prefix = 'e'): Promise<void> {
  const reply = await publish(url, Array.from({ length: count }, (_, index) => event({ topic, event_id: `${prefix}${index}`, payload: { index } })));
  assert.equal(reply.status, 200);
}

describe('consumer groups: definition', () => {
  test('PUT creates (201) with defaults filled in, the same PUT is 200 and may change limits, other topics are 409, DELETE removes', async () => {
    const server = await startServer();
    try {
      const created = await groupCall(server.url, 'billing', '', { topics: 'orders.*' });
      assert.equal(created.status, 201);
      assert.deepEqual(
        { ...created.body, state: undefined },
        { name: 'billing', topics: ['orders.*'], start: 'earliest', ack_wait_ms: 30000, max_deliver: 5, max_pending: 1000, backoff_ms: [1000, 5000, 30000], state: undefined },
      );
      assert.deepEqual(Object.keys(created.body.state).sort(), ['ack_floor', 'acked', 'consumers', 'dead_lettered', 'delivered', 'lag', 'pending', 'redelivered', 'skipped']);
      const again = await groupCall(server.url, 'billing', '', { topics: ['orders.*'], max_pending: 10 });
      assert.equal(again.status, 200);
      assert.equal(again.body.max_pending, 10);
      assert.equal((await groupCall(server.url, 'billing', '', { topics: 'other' })).body.error.code, 'group_conflict');
      assert.equal((await groupCall(server.url, 'billing', '', { topics: 'orders.*', start: 'latest' })).status, 409);
      const listed = await getJson(`${server.url}/groups`);
      assert.deepEqual(listed.body.groups.map((group: { name: string }) => group.name), ['billing']);
      assert.equal((await groupCall(server.url, 'billing', '', undefined, { method: 'DELETE' })).status, 204);
      assert.equal((await groupCall(server.url, 'billing', '')).body.error.code, 'group_not_found');
      assert.equal((await groupCall(server.url, 'billing', '', undefined, { method: 'DELETE' })).status, 404);
    } finally {
      await server.stop();
    }
  });

  test('hostile input: bad names and bodies are 400, unknown groups 404, unknown ids answered unknown, a huge max refused', async () => {
    const server = await startServer();
    try {
      for (const name of ['-x', 'a'.repeat(65), 'a b', 'ä']) assert.equal((await groupCall(server.url, name, '', { topics: 'a' })).body.error.code, 'invalid_group', name);
      for (const body of [{}, { topics: [] }, { topics: 'a b' }, { topics: 'a', ack_wait_ms: 0 }, { topics: 'a', start: 'now' }, { topics: 'a', start: { after: 'nope' } }, { topics: 'a', extra: 1 }, { topics: 'a', backoff_ms: [-1] }]) {
        assert.equal((await groupCall(server.url, 'g', '', body)).body.error.code, 'invalid_group', JSON.stringify(body));
      }
      assert.equal((await groupCall(server.url, 'g', '', '{not json')).body.error.code, 'bad_json');
      assert.equal((await groupCall(server.url, 'missing', 'fetch', { max: 1 })).body.error.code, 'group_not_found');
      assert.equal((await groupCall(server.url, 'missing', 'ack', { ids: ['0-1'] })).body.error.code, 'group_not_found');
      assert.equal((await groupCall(server.url, 'g', '', { topics: 'a' })).status, 201);
      assert.equal((await groupCall(server.url, 'g', 'fetch', { max: 1_000_000 })).body.error.code, 'invalid_group');
      assert.equal((await groupCall(server.url, 'g', 'fetch', { wait_ms: -1 })).body.error.code, 'invalid_group');
      assert.equal((await groupCall(server.url, 'g', 'ack', { ids: 'x' })).body.error.code, 'invalid_group');
      assert.equal((await groupCall(server.url, 'g', 'ack', { ids: Array(1001).fill('0-1') })).body.error.code, 'invalid_group');
      const statuses = await ackMessages(server.url, 'g', ['0-1', '7-1', 'x', '1-99999999']);
      assert.deepEqual([...statuses.values()], ['unknown', 'unknown', 'unknown', 'unknown']);
    } finally {
      await server.stop();
    }
  });
});

describe('consumer groups: delivery', () => {
  test('first deliveries follow seq across topics and shards, each to one fetcher; acked messages never come again; late acks still count', async () => {
    const server = await startServer({ shards: 3 });
    try {
      await publishAll(server.url, 'orders.eu', 40, 'eu');
      await publishAll(server.url, 'orders.us', 40, 'us');
      await publishAll(server.url, 'audit', 10, 'x');
      await groupCall(server.url, 'g', '', { topics: ['orders.*'], ack_wait_ms: 60_000 });
      const [a, b] = await Promise.all([fetchMessages(server.url, 'g', 50), fetchMessages(server.url, 'g', 50)]);
      const all = [...a!, ...b!];
      assert.equal(all.length, 80);
      assert.equal(new Set(ids(all)).size, 80, 'no message went to both fetchers');
      for (const list of [a!, b!]) assert.deepEqual(list.map((message) => message.event.seq), list.map((message) => message.event.seq).sort((x, y) => x - y));
      assert.ok(all.every((message) => message.event.topic.startsWith('orders.') && message.delivery_count === 1));
      assert.deepEqual(await fetchMessages(server.url, 'g', 10), [], 'everything is in flight');
      const acked = await ackMessages(server.url, 'g', ids(all));
      assert.ok([...acked.values()].every((status) => status === 'acked'));
      assert.ok([...(await ackMessages(server.url, 'g', ids(all).slice(0, 3))).values()].every((status) => status === 'already_acked'));
      const { body } = await groupCall(server.url, 'g', '');
      assert.deepEqual({ ...body.state, ack_floor: undefined, consumers: undefined }, { delivered: 80, acked: 80, redelivered: 0, dead_lettered: 0, skipped: 0, pending: 0, lag: 0, ack_floor: undefined, consumers: undefined });
      await publishAll(server.url, 'orders.new', 5, 'n');
      assert.deepEqual(eventIds(await fetchMessages(server.url, 'g', 10)), ['n0', 'n1', 'n2', 'n3', 'n4']);
    } finally {
      await server.stop();
    }
  });

  test('start latest, after a cursor, since a time', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, 't', 5, 'old');
      const cursor = (await getJson(`${server.url}/events?topic=t&limit=2`)).body.next as string;
      await groupCall(server.url, 'late', '', { topics: 't', start: 'latest' });
      await groupCall(server.url, 'mid', '', { topics: 't', start: { after: cursor } });
      await groupCall(server.url, 'future', '', { topics: 't', start: { since: new Date(Date.now() + 3_600_000).toISOString() } });
      await groupCall(server.url, 'past', '', { topics: 't', start: { since: '2000-01-01T00:00:00Z' } });
      await publishAll(server.url, 't', 1, 'new');
      assert.deepEqual(eventIds(await fetchMessages(server.url, 'late', 10)), ['new0']);
      assert.deepEqual(eventIds(await fetchMessages(server.url, 'mid', 10)), ['old2', 'old3', 'old4', 'new0']);
      assert.deepEqual(eventIds(await fetchMessages(server.url, 'future', 10)), ['new0'], 'a start after every stored event takes what comes');
      assert.equal((await fetchMessages(server.url, 'past', 10)).length, 6);
    } finally {
      await server.stop();
    }
  });

  test('an unacked message comes back after its ack wait with delivery_count + 1; extend holds it; nak redelivers after its delay', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, 't', 3);
      await groupCall(server.url, 'g', '', { topics: 't', ack_wait_ms: 400, backoff_ms: [] });
      const first = await fetchMessages(server.url, 'g', 3);
      assert.equal(first.length, 3);
      const started = performance.now();
      const extended = await groupCall(server.url, 'g', 'extend', { ids: [first[1]!.id] });
      assert.deepEqual(extended.body.results.map((result: { status: string }) => result.status), ['ok']);
      await groupCall(server.url, 'g', 'nak', { ids: [first[2]!.id], delay_ms: 0 });
      const naked = await fetchMessages(server.url, 'g', 3);
      assert.deepEqual(naked.map((message) => [message.event.event_id, message.delivery_count]), [['e2', 2]]);
      const again = await fetchMessages(server.url, 'g', 3, 2000);
      assert.ok(performance.now() - started >= 390, 'not before the ack wait');
      assert.ok(again.some((message) => message.event.event_id === 'e0' && message.delivery_count === 2));
      // A late ack of the first delivery acks the message, whoever holds it now.
      assert.equal((await ackMessages(server.url, 'g', [first[0]!.id])).get(first[0]!.id), 'acked');
    } finally {
      await server.stop();
    }
  });

  test('a backoff longer than the ack wait holds an unacked message that long', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, 't', 1);
      await groupCall(server.url, 'g', '', { topics: 't', ack_wait_ms: 100, backoff_ms: [700] });
      const started = performance.now();
      await fetchMessages(server.url, 'g', 1);
      const [again] = await fetchMessages(server.url, 'g', 1, 5000);
      assert.ok(performance.now() - started >= 690, `held ${performance.now() - started} ms`);
      assert.equal(again!.delivery_count, 2);
    } finally {
      await server.stop();
    }
  });

  test('nak without a delay waits for the backoff of its delivery count', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, 't', 1);
      await groupCall(server.url, 'g', '', { topics: 't', ack_wait_ms: 60_000, backoff_ms: [300] });
      const [message] = await fetchMessages(server.url, 'g', 1);
      const naked = performance.now();
      await groupCall(server.url, 'g', 'nak', { ids: [message!.id] });
      assert.deepEqual(await fetchMessages(server.url, 'g', 1, 0), []);
      const [again] = await fetchMessages(server.url, 'g', 1, 3000);
      assert.ok(performance.now() - naked >= 290);
      assert.equal(again!.delivery_count, 2);
    } finally {
      await server.stop();
    }
  });

  test('term and max_deliver dead-letter exactly once into dead.<group>, counted apart from acks', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, 't', 2);
      await groupCall(server.url, 'g', '', { topics: 't', ack_wait_ms: 100, max_deliver: 2, backoff_ms: [] });
      const first = await fetchMessages(server.url, 'g', 2);
      const termed = first.find((message) => message.event.event_id === 'e0')!;
      const answer = await groupCall(server.url, 'g', 'term', { ids: [termed.id, termed.id], reason: 'poison' });
      assert.deepEqual(answer.body.results.map((result: { status: string }) => result.status), ['ok', 'not_pending']);
      assert.equal((await ackMessages(server.url, 'g', [termed.id])).get(termed.id), 'already_acked');
      // e1: delivered twice without an ack, then dead-lettered by the next fetch that finds it due.
      const second = await fetchMessages(server.url, 'g', 2, 2000);
      assert.deepEqual(second.map((message) => [message.event.event_id, message.delivery_count]), [['e1', 2]]);
      assert.deepEqual(await fetchMessages(server.url, 'g', 2, 600), []);
      const { body } = await groupCall(server.url, 'g', '');
      assert.equal(body.state.dead_lettered, 2);
      assert.equal(body.state.acked, 0);
      assert.equal(body.state.pending, 0);
      const letters = await allEvents(server.url, 'dead.g');
      assert.deepEqual(letters.map((letter) => letter.event_id).sort(), ['t/e0', 't/e1']);
      const poison = letters.find((letter) => letter.event_id === 't/e0');
      assert.equal(poison.payload.reason, 'poison');
      assert.equal(poison.payload.event.event_id, 'e0');
      assert.equal(letters.find((letter) => letter.event_id === 't/e1').payload.reason, 'max_deliver');
      assert.equal(letters.find((letter) => letter.event_id === 't/e1').payload.delivery_count, 2);
    } finally {
      await server.stop();
    }
  });

  test('max_pending bounds what is in flight: a fetch waits until an ack makes room, and a publish wakes a waiting fetch', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, 't', 10);
      await groupCall(server.url, 'g', '', { topics: 't', max_pending: 3 });
      const held = await fetchMessages(server.url, 'g', 10);
      assert.equal(held.length, 3);
      assert.deepEqual(await fetchMessages(server.url, 'g', 10, 200), []);
      const waiting = fetchMessages(server.url, 'g', 10, 5000);
      await ackMessages(server.url, 'g', [held[0]!.id]);
      assert.equal((await waiting).length, 1);
      await groupCall(server.url, 'other', '', { topics: 'fresh' });
      const started = performance.now();
      const woken = fetchMessages(server.url, 'other', 10, 10_000);
      await publishAll(server.url, 'fresh', 1);
      assert.equal((await woken).length, 1);
      assert.ok(performance.now() - started < 5000, 'woken by the commit, not by the wait running out');
    } finally {
      await server.stop();
    }
  });

  test('a pending message deleted before its redelivery is skipped and counted; the group goes on', async () => {
    const server = await startServer({ args: ['--admin-token', 'adm'] });
    try {
      await publishAll(server.url, 't', 2);
      await groupCall(server.url, 'g', '', { topics: 't', ack_wait_ms: 100, backoff_ms: [] });
      assert.equal((await fetchMessages(server.url, 'g', 2)).length, 2);
      const deleted = await fetch(`${server.url}/admin/delete`, { method: 'POST', headers: { authorization: 'Bearer adm' }, body: JSON.stringify({ topic: 't', event_ids: ['e0'] }) });
      assert.equal(deleted.status, 200);
      const again = await fetchMessages(server.url, 'g', 2, 2000);
      assert.deepEqual(eventIds(again), ['e1']);
      assert.equal((await groupCall(server.url, 'g', '')).body.state.skipped, 1);
    } finally {
      await server.stop();
    }
  });

  test('state survives a restart exactly: pending, counts, floor; an acked message never comes back', async () => {
    const dataDir = await makeTempDir();
    let server = await startServer({ dataDir });
    await publishAll(server.url, 't', 6);
    // Long enough to outlast the restart below: the two messages still held must not come back before it ends.
    await groupCall(server.url, 'g', '', { topics: 't', ack_wait_ms: 4000, backoff_ms: [] });
    const taken = await fetchMessages(server.url, 'g', 4);
    await ackMessages(server.url, 'g', ids(taken.slice(0, 2)));
    const before = (await groupCall(server.url, 'g', '')).body;
    await server.crash();
    server = await startServer({ dataDir });
    try {
      const after = (await groupCall(server.url, 'g', '')).body;
      assert.deepEqual({ ...after.state, consumers: 0 }, { ...before.state, consumers: 0 });
      const next = await fetchMessages(server.url, 'g', 10);
      assert.deepEqual(eventIds(next), ['e4', 'e5'], 'in-flight messages wait out their ack wait, even across a crash');
      const redelivered = await fetchMessages(server.url, 'g', 10, 8000);
      assert.deepEqual(redelivered.map((message) => [message.event.event_id, message.delivery_count]).sort(), [['e2', 2], ['e3', 2]]);
    } finally {
      await server.stop();
    }
  });
});

describe('consumer groups: the consume WebSocket and tokens', () => {
  test('messages are pushed within the credit; acks are confirmed once committed', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, 't', 5);
      await groupCall(server.url, 'g', '', { topics: 't' });
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/groups/g/consume`);
      const inbox: any[] = [];
      const next = (): Promise<any> => new Promise((resolve) => (inbox.length > 0 ? resolve(inbox.shift()) : socket.once('message', () => resolve(inbox.shift()))));
      socket.on('message', (data) => inbox.push(JSON.parse(String(data))));
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ credit: 3 }));
      const first = await next();
      assert.equal(first.messages.length, 3);
      socket.send(JSON.stringify({ ack: first.messages.map((message: Message) => message.id) }));
      const confirmed = await next();
      assert.equal(confirmed.ack.acked, 3);
      // A settle on the socket is checked as a route's body is.
      socket.send(JSON.stringify({ nak: [first.messages[0].id], delay_ms: -1 }));
      assert.equal((await next()).error.code, 'invalid_group');
      socket.send(JSON.stringify({ credit: 10 }));
      assert.equal((await next()).messages.length, 2);
      socket.close();
      const missing = new WebSocket(`${server.url.replace('http', 'ws')}/groups/nope/consume`);
      const code = await new Promise((resolve) => missing.once('close', resolve));
      assert.equal(code, 4004);
    } finally {
      await server.stop();
    }
  });

  test('--consume-token guards /groups; the admin token passes; a publish token does not', async () => {
    const server = await startServer({ args: ['--consume-token', 'c', '--admin-token', 'a', '--publish-token', 'p'] });
    try {
      assert.equal((await groupCall(server.url, 'g', '', { topics: 't' })).status, 401);
      assert.equal((await groupCall(server.url, 'g', '', { topics: 't' }, { token: 'p' })).status, 403);
      assert.equal((await groupCall(server.url, 'g', '', { topics: 't' }, { token: 'c' })).status, 201);
      assert.equal((await groupCall(server.url, 'g', 'fetch', { max: 1 }, { token: 'a' })).status, 200);
    } finally {
      await server.stop();
    }
  });
});

describe('consumer groups: visibility', () => {
  test('/stats lists each group; /metrics has its series, read behind the scrape', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, 't', 4);
      await groupCall(server.url, 'g', '', { topics: 't' });
      const taken = await fetchMessages(server.url, 'g', 3);
      await ackMessages(server.url, 'g', [taken[0]!.id]);
      const stats = (await getJson(`${server.url}/stats`)).body;
      assert.deepEqual(stats.groups, { g: { pending: 2, lag: 1, delivered: 3, acked: 1, redelivered: 0, dead_lettered: 0 } });
      const metric = async (): Promise<string> => (await (await fetch(`${server.url}/metrics`)).text());
      await waitFor(async () => (await metric()).includes('aggregator_group_acked_total{group="g"} 1'), 'the group series in /metrics');
      const text = await metric();
      assert.match(text, /aggregator_group_pending\{group="g"\} 2/);
      assert.match(text, /aggregator_group_lag\{group="g"\} 1/);
    } finally {
      await server.stop();
    }
  });
});
