import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lokiEventsFromJson, parseLabels } from '../../../src/shippers/loki.js';
import { kLokiServiceLabels, lokiTopic, parseLabelNames } from '../../../src/shippers/loki-topic.js';

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
      { topicLabels: ['job'] },
      receivedAt,
    );
    const ids = events.map((event) => event.event_id);
    assert.equal(ids[0], ids[1], 'structured metadata is not part of the identity');
    assert.equal(ids[0], ids[4], 'label order does not matter');
    assert.equal(new Set([ids[0], ids[2], ids[3], ids[5]]).size, 4);
    assert.deepEqual(events[1]!.payload, { line: 'x', labels: { job: 'a', host: 'h' }, timestamp_ns: '1', structured_metadata: { trace: 't' } });
  });

  test('the topic is the first present label of the list; without any it is unknown_service', () => {
    const body = JSON.stringify({ streams: [{ stream: { service_name: 'billing' }, values: [['0', 'x']] }] });
    assert.equal(lokiEventsFromJson(body, { topicLabels: ['service_name'] }, receivedAt)[0]!.topic, 'billing');
    const [event] = lokiEventsFromJson(body, { topicLabels: ['job'] }, receivedAt);
    assert.equal(event!.topic, 'unknown_service');
    assert.equal(event!.source, 'loki', 'no host label');
    assert.equal(event!.timestamp, receivedAt.toISOString(), 'timestamp 0: the receive time');
  });

  test("the default list is Loki 3's discover_service_name, in its order", () => {
    assert.deepEqual(kLokiServiceLabels, ['service_name', 'service', 'app', 'application', 'name', 'app_kubernetes_io_name', 'container', 'container_name', 'component', 'workload', 'job']);
    // Each label wins over every label after it, and an empty value counts as absent (as in Loki).
    for (let index = 0; index < kLokiServiceLabels.length; index++) {
      const labels: Record<string, string> = Object.fromEntries(kLokiServiceLabels.slice(index).map((name) => [name, `from-${name}`]));
      assert.equal(lokiTopic({ ...labels, [kLokiServiceLabels[index - 1] ?? 'other']: '' }, kLokiServiceLabels), `from-${kLokiServiceLabels[index]}`);
    }
    assert.equal(lokiTopic({ job: 'api', level: 'info' }, kLokiServiceLabels), 'api', 'job still names the topic when nothing before it is present');
    assert.equal(lokiTopic({ level: 'info' }, kLokiServiceLabels), 'unknown_service');
    assert.equal(lokiTopic({ app: 'my app/v2' }, kLokiServiceLabels), 'my_app_v2', 'made a topic as for OTLP');
  });

  test('--loki-topic-labels takes label names, comma-separated, and refuses anything else', () => {
    assert.deepEqual(parseLabelNames('job'), ['job']);
    assert.deepEqual(parseLabelNames(' service_name , job '), ['service_name', 'job']);
    for (const bad of ['', 'job,', 'a-b', '1job', 'app.name']) assert.throws(() => parseLabelNames(bad), /is not a label name/, bad);
  });
});
