import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { headers } from 'nats';
import { rfc3339FromAckSubject } from '../../../src/cluster/replicas.js';
import { LogReads, type FollowedMessage, type LogFollower, type LogMessage, type LogReader } from '../../../src/cluster/log-reads.js';
import { timestampMicrosOf } from '../../../src/cluster/log-timestamp.js';

const message = (seq: number): LogMessage => ({ seq, header: headers(), data: new Uint8Array([seq]), timestamp: '2026-12-07T10:00:00.123456789Z' });

/** A stream of `last` messages; a follower the test feeds by hand. */
function fakeReader(last: number): { reader: LogReader; followers: { from: number; push(item: FollowedMessage): void; end(error?: Error): void; closed: boolean }[]; gets: number[] } {
  const followers: { from: number; push(item: FollowedMessage): void; end(error?: Error): void; closed: boolean }[] = [];
  const gets: number[] = [];
  const reader: LogReader = {
    getMessage: async (_stream, { seq }) => {
      gets.push(seq);
      if (seq > last) throw Object.assign(new Error('no message found'), { api_error: { err_code: 10037 } });
      return message(seq);
    },
    extent: async () => ({ first: 1, last }),
    follow: async (_stream, from) => {
      const queue: (FollowedMessage | Error | null)[] = [];
      let wake: (() => void) | null = null;
      const handle = {
        from,
        closed: false,
        push: (item: FollowedMessage) => (queue.push(item), wake?.()),
        end: (error?: Error) => (queue.push(error ?? null), wake?.()),
      };
      followers.push(handle);
      async function* messages(): AsyncIterable<FollowedMessage> {
        for (;;) {
          while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
          const next = queue.shift()!;
          if (next === null) return;
          if (next instanceof Error) throw next;
          yield next;
        }
      }
      return { messages: messages(), close: () => (handle.closed = true, handle.end()) } satisfies LogFollower;
    },
  };
  return { reader, followers, gets };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('LogReads', () => {
  test('follows from the position asked for: what the follower delivered, in order, and the end from its pending count', async () => {
    const { reader, followers, gets } = fakeReader(3);
    let arrivals = 0;
    const reads = new LogReads(reader, 'AGG_0', 0, () => arrivals++);
    assert.deepEqual(await reads.read(1, 1), []);
    assert.equal(followers.length, 1);
    assert.equal(followers[0]!.from, 1);
    assert.equal(reads.atEnd, false, 'the stream holds 3 past the start: not at its end before they come');
    followers[0]!.push({ message: message(1), pending: 2 });
    followers[0]!.push({ message: message(2), pending: 1 });
    await settle();
    assert.ok(arrivals >= 1, 'the reader loop is woken');
    assert.deepEqual((await reads.read(1, 1)).map((item) => item.seq), [1, 2], 'everything buffered, whatever the window');
    followers[0]!.push({ message: message(3), pending: 0 });
    await settle();
    assert.deepEqual((await reads.read(3, 1)).map((item) => item.seq), [3]);
    assert.equal(reads.atEnd, true);
    assert.deepEqual(gets, [], 'no get while the follower delivers');
  });

  test('a read from another position (a rebuild, a failed commit read again) makes a new follower there', async () => {
    const { reader, followers } = fakeReader(10);
    const reads = new LogReads(reader, 'AGG_0', 0);
    await reads.read(1, 1);
    followers[0]!.push({ message: message(1), pending: 9 });
    await settle();
    assert.equal((await reads.read(1, 1)).length, 1);
    await reads.read(7, 1);
    assert.equal(followers[0]!.closed, true);
    assert.equal(followers[1]!.from, 7);
  });

  test('a follower that skips a position fails, and the next read starts afresh where the replica is', async () => {
    const { reader, followers } = fakeReader(10);
    const reads = new LogReads(reader, 'AGG_0', 0);
    await reads.read(4, 1);
    followers[0]!.push({ message: message(6), pending: 4 });
    await settle();
    assert.deepEqual(await reads.read(4, 1), [], 'nothing applied past a gap');
    assert.equal(followers.length, 2);
    assert.equal(followers[1]!.from, 4);
  });

  test('a silent follower is checked by a get: a message there is read by get and the follower replaced', async (t) => {
    const { reader, followers, gets } = fakeReader(5);
    const reads = new LogReads(reader, 'AGG_0', 0);
    const realNow = performance.now.bind(performance);
    let offset = 0;
    t.mock.method(performance, 'now', () => realNow() + offset);
    assert.deepEqual(await reads.read(1, 1), []);
    offset = 1500;
    assert.deepEqual((await reads.read(1, 1)).map((item) => item.seq), [1], 'the get found what the follower did not deliver');
    assert.deepEqual(gets, [1]);
    assert.equal(followers[0]!.closed, true);
    await reads.read(2, 1);
    assert.equal(followers[1]!.from, 2);
  });

  test('without a follower it reads by gets, a window at a time, and finds the end', async () => {
    const { reader, gets } = fakeReader(3);
    const gettingOnly: LogReader = { getMessage: reader.getMessage, extent: reader.extent };
    const reads = new LogReads(gettingOnly, 'AGG_0', 0);
    assert.deepEqual((await reads.read(2, 4)).map((item) => item.seq), [2, 3]);
    assert.equal(reads.atEnd, true);
    assert.deepEqual(gets, [2, 3, 4, 5]);
  });
});

describe('rfc3339FromAckSubject', () => {
  test('takes the stored time from the ack subject exactly, in both of its forms', () => {
    const nanos = '1765101600123456789';
    const old = `$JS.ACK.AGG_0.consumer.1.42.42.${nanos}.0`;
    const current = `$JS.ACK._.ACCHASH.AGG_0.consumer.1.42.42.${nanos}.0.rand`;
    for (const subject of [old, current]) {
      const text = rfc3339FromAckSubject(subject);
      assert.equal(text, '2025-12-07T10:00:00.123456789Z');
      // The same microseconds as the RFC 3339 text a get carries for that instant.
      assert.equal(timestampMicrosOf(text), 1_765_101_600_123_456);
    }
    assert.throws(() => rfc3339FromAckSubject('not.an.ack'), /not a JetStream ack subject/);
  });
});

describe('LogReads when no follower can be made', () => {
  test('it reads on by gets, and tries to follow again a moment later', async (t) => {
    const { reader, gets } = fakeReader(3);
    let refusals = 1;
    const flaky: LogReader = {
      ...reader,
      follow: async (stream, from) => {
        if (refusals-- > 0) throw new Error('JetStream API timeout');
        return reader.follow!(stream, from);
      },
    };
    const realNow = performance.now.bind(performance);
    let offset = 0;
    t.mock.method(performance, 'now', () => realNow() + offset);
    const reads = new LogReads(flaky, 'AGG_0', 0);
    assert.deepEqual((await reads.read(1, 2)).map((item) => item.seq), [1, 2], 'by gets');
    assert.deepEqual(gets, [1, 2]);
    assert.deepEqual((await reads.read(3, 2)).map((item) => item.seq), [3], 'still by gets within the second');
    offset = 1500;
    assert.deepEqual(await reads.read(4, 2), [], 'a follower again');
    assert.equal(refusals, -1);
  });
});
