import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findProblems } from '../../../src/events/validate.js';
import { encodeBody } from '../../../src/publisher/encode.js';
import { generateStream, identity, splitRequests, type StreamSpec } from '../../../src/publisher/generate.js';
import { decodeBody } from '../../../src/events/decode.js';

const spec: StreamSpec = { count: 5000, duplicateRatio: 0.2, topics: ['auth.prod', 'payment.dev', 'search.prod'], seed: 7, runId: 'run-7' };

describe('publisher event stream', () => {
  test('the same seed gives the identical stream; another seed a different one', () => {
    const first = generateStream(spec);
    const second = generateStream(spec);
    assert.equal(JSON.stringify(second.slice(0, spec.count)), JSON.stringify(first.slice(0, spec.count)));
    assert.equal(second.distinct, first.distinct);
    const other = generateStream({ ...spec, seed: 8 });
    assert.notEqual(JSON.stringify(other.slice(0, spec.count)), JSON.stringify(first.slice(0, spec.count)));
  });

  test('duplicates repeat earlier pairs, at the requested ratio within tolerance', () => {
    for (const ratio of [0, 0.2, 0.5]) {
      const stream = generateStream({ ...spec, duplicateRatio: ratio });
      const seen = new Set<string>();
      const first = new Map<string, string>();
      let repeats = 0;
      for (const event of stream.slice(0, spec.count)) {
        const key = identity(event);
        if (seen.has(key)) {
          repeats++;
          assert.equal(JSON.stringify(event), first.get(key), 'a duplicate is the same event, not just the same identity');
        }
        seen.add(key);
        first.set(key, JSON.stringify(event));
      }
      assert.equal(repeats, stream.duplicates, 'counted duplicates match the construction');
      assert.equal(seen.size, stream.distinct);
      assert.equal(stream.distinct + stream.duplicates, spec.count);
      // 5 000 Bernoulli draws: three standard deviations is under 0.025 for these ratios.
      assert.ok(Math.abs(repeats / spec.count - ratio) < 0.025, `ratio ${ratio}: got ${repeats / spec.count}`);
    }
  });

  test('event ids carry the run id; topics come from the list', () => {
    const events = generateStream(spec).slice(0, spec.count);
    assert.ok(events.every((event) => event.event_id.startsWith('run-7-')));
    assert.deepEqual(new Set(events.map((event) => event.topic)), new Set(spec.topics));
    assert.deepEqual(generateStream(spec).slice(10, 20), events.slice(10, 20), 'a slice is the same events as the whole');
  });

  test('every generated event passes the server validator, in every body format', () => {
    const events = generateStream(spec).slice(0, spec.count);
    assert.deepEqual(findProblems(events, { maxPayloadDepth: 64 }), []);
    assert.ok(events.every((event) => /Z$/.test(event.timestamp)), 'timestamps in UTC with Z');
    for (const format of ['json', 'ndjson', 'msgpack'] as const) {
      const body = encodeBody(events.slice(0, 50), false, format);
      const decoded = decodeBody(body.bytes, format);
      assert.equal(decoded.length, 50, format);
      assert.deepEqual(findProblems(decoded, { maxPayloadDepth: 64 }), [], format);
      assert.deepEqual(decoded, JSON.parse(JSON.stringify(events.slice(0, 50))), `${format} round trip`);
      const single = decodeBody(encodeBody(events.slice(0, 1), true, format).bytes, format);
      assert.deepEqual(single, [JSON.parse(JSON.stringify(events[0]))], `${format} single event`);
    }
  });

  test('batch splitting covers every event exactly once, in order, and is seeded', () => {
    for (const mode of ['single', 'batch', 'mix'] as const) {
      for (const [count, batchSize] of [[5000, 100], [1, 100], [1234, 7], [10, 1]] as const) {
        const slices = splitRequests(count, mode, batchSize, 3);
        let next = 0;
        for (const slice of slices) {
          assert.equal(slice.start, next, `${mode}: contiguous`);
          assert.ok(slice.end > slice.start && slice.end - slice.start <= batchSize, `${mode}: 1..batchSize events`);
          if (slice.single) assert.equal(slice.end - slice.start, 1);
          next = slice.end;
        }
        assert.equal(next, count, `${mode} ${count}/${batchSize}: every event`);
        assert.deepEqual(splitRequests(count, mode, batchSize, 3), slices, `${mode}: same seed, same split`);
      }
    }
    assert.ok(splitRequests(100, 'single', 10, 1).every((slice) => slice.single));
    assert.ok(splitRequests(1000, 'batch', 10, 1).every((slice) => !slice.single && slice.end - slice.start === 10));
    const mixed = splitRequests(5000, 'mix', 100, 1);
    assert.ok(mixed.some((slice) => slice.single) && mixed.some((slice) => !slice.single), 'mix has both shapes');
  });
});
