import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lokiEventsFromJson, parseLabels } from '../../../src/shippers/loki.js';

const receivedAt = new Date('2025-01-01T00:00:00Z');

describe('Loki mapping', () => {
  test('parseLabels reads the Prometheus label syntax, escapes included', () => {
    assert.deepEqual(parseLabels('{job="api", host="web-1"}'), { job: 'api', host: 'web-1' });
    assert.deepEqual(parseLabels('{msg="say \\"hi\\"\\n", empty=""}'), { msg: 'say "hi"\n', empty: '' });
    assert.deepEqual(parseLabels('{}'), {});
    for (const bad of ['job="api"', '{job=api}', '{job="api" host="x"}', '{1job="x"}', '{job="unterminated}']) assert.throws(() => parseLabels(bad), /are not/, bad);
  });

  test('the id depends on labels (not their order), timestamp and line; nothing else', () => {
    const events = lokiEventsFromJson(
      JSON.stringify({
        streams: [
          { stream: { job: 'a', host: 'h' }, values: [['1', 'x'], ['1', 'x', { trace: 't' }], ['2', 'x'], ['1', 'y']] },
          { stream: { host: 'h', job: 'a' }, values: [['1', 'x']] },
          { stream: { job: 'a' }, values: [['1', 'x']] },
        ],
      }),
      { topicLabel: 'job' },
      receivedAt,
    );
    const ids = events.map((event) => event.event_id);
    assert.equal(ids[0], ids[1], 'structured metadata is not part of the identity');
    assert.equal(ids[0], ids[4], 'label order does not matter');
    assert.equal(new Set([ids[0], ids[2], ids[3], ids[5]]).size, 4);
    assert.deepEqual(events[1]!.payload, { line: 'x', labels: { job: 'a', host: 'h' }, timestamp_ns: '1', structured_metadata: { trace: 't' } });
  });

  test('the topic label is configurable; without it the topic is loki', () => {
    const body = JSON.stringify({ streams: [{ stream: { service_name: 'billing' }, values: [['0', 'x']] }] });
    assert.equal(lokiEventsFromJson(body, { topicLabel: 'service_name' }, receivedAt)[0]!.topic, 'billing');
    const [event] = lokiEventsFromJson(body, { topicLabel: 'job' }, receivedAt);
    assert.equal(event!.topic, 'loki');
    assert.equal(event!.timestamp, receivedAt.toISOString(), 'timestamp 0: the receive time');
  });
});
