import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { headers as natsHeaders, type StoredMsg } from 'nats';
import { logFrame } from '../../../src/cluster/log-frame.js';

/** A stored message as JetStream hands it to a replica; only what logFrame reads. */
function stored(seq: number, timestamp: string, headerValues: Record<string, string>, data: Uint8Array = new Uint8Array()): StoredMsg {
  const header = natsHeaders();
  for (const [name, value] of Object.entries(headerValues)) header.set(name, value);
  return { seq, timestamp, header, data, subject: 'agg.1', time: new Date(timestamp) } as unknown as StoredMsg;
}

const timestamp = '2026-01-01T00:00:00.000005Z';
const micros = Date.parse('2026-01-01T00:00:00Z') * 1000 + 5;

describe('logFrame', () => {
  test('an events message: its first seq is the first one in the shard\'s residue from its log timestamp, and the clock after it is its last event\'s seq', () => {
    const data = Uint8Array.from([1, 2, 3]);
    const frame = logFrame(stored(17, timestamp, { 'agg-n': '3', 'agg-at': '1767225600123', 'agg-rej': '2', 'Nats-Msg-Id': 'node-a:9' }, data), 0, 1, 4);
    const first = frame.entry.firstSeq;
    assert.ok(first >= micros && first < micros + 4, `${first} is within one round of the timestamp ${micros}`);
    assert.equal(first % 4, 1, 'in shard 1\'s residue');
    assert.deepEqual(frame.entry, { position: 17, firstSeq: first, eventCount: 3, command: false, receivedAt: 1767225600123, rejected: 2, data });
    assert.equal(frame.entry.data, data, 'the data is handed on, not copied');
    assert.deepEqual(frame.position, { seq: 17, clock: first + 2 * 4 });
    assert.equal(frame.msgId, 'node-a:9');
    assert.equal(frame.carriesEvents, true);
  });

  test('a shard clock ahead of the timestamp wins: the message starts above the clock', () => {
    const clock = micros + 1002; // in shard 3's residue of 4
    assert.equal(clock % 4, 3);
    const frame = logFrame(stored(5, timestamp, { 'agg-n': '1' }), clock, 3, 4);
    assert.equal(frame.entry.firstSeq, clock + 4);
    assert.deepEqual(frame.position, { seq: 5, clock: clock + 4 }, 'one event: the clock is its seq');
  });

  test('a tick carries no events and no id: it moves the clock to at least its clock header', () => {
    const target = micros + 5_000_000;
    const frame = logFrame(stored(8, timestamp, { 'agg-clock': String(target) }), micros, 2, 4);
    const first = frame.entry.firstSeq;
    assert.ok(first >= target && first < target + 4);
    assert.equal(first % 4, 2);
    assert.deepEqual(frame.position, { seq: 8, clock: first });
    assert.deepEqual([frame.entry.eventCount, frame.entry.receivedAt, frame.entry.rejected, frame.entry.command], [0, 0, 0, false]);
    assert.equal(frame.carriesEvents, false);
    assert.equal(frame.msgId, '');
  });

  test('a tick whose clock is behind the log timestamp takes the timestamp', () => {
    const frame = logFrame(stored(8, timestamp, { 'agg-clock': '12' }), 0, 0, 1);
    assert.equal(frame.entry.firstSeq, micros);
  });

  test('a command message is marked as one, and its position\'s clock is its first seq whatever its event count says', () => {
    const frame = logFrame(stored(9, timestamp, { 'agg-cmd': '1', 'agg-n': '5', 'Nats-Msg-Id': 'node-a:10' }), 0, 0, 2);
    assert.equal(frame.entry.command, true);
    assert.deepEqual(frame.position, { seq: 9, clock: frame.entry.firstSeq });
    const events = logFrame(stored(9, timestamp, { 'agg-cmd': '0', 'agg-n': '5' }), 0, 0, 2);
    assert.equal(events.entry.command, false, 'only "1" marks a command');
    assert.equal(events.position.clock, events.entry.firstSeq + 4 * 2);
  });

  test('every replica builds the same frame from the same message: the seq follows from the timestamp text to the µs', () => {
    const message = stored(3, '2026-01-01T00:00:00.123456789+02:00', { 'agg-n': '4', 'agg-at': '77' });
    const a = logFrame(message, 100, 1, 3);
    const b = logFrame(message, 100, 1, 3);
    assert.deepEqual(a, b);
    const at = Date.parse('2025-12-31T22:00:00Z') * 1000 + 123456;
    assert.ok(a.entry.firstSeq >= at && a.entry.firstSeq < at + 3 && a.entry.firstSeq % 3 === 1);
  });
});
