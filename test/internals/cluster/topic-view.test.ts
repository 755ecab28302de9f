import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TopicRow } from '../../../src/ingest/storage.js';
import { TopicView } from '../../../src/cluster/topic-view.js';
import type { TopicVolumes, VolumeQuery } from '../../../src/store/read-parts.js';

const row = (topic: string, received: number, expired = 0): TopicRow => ({ topic, received, unique: received, duplicates: 0, expired, deleted: 0 });

/** A view over scripted reads, on a clock the test moves. */
function scripted(answers: ((query: VolumeQuery) => TopicVolumes | Error)[]) {
  let now = 0;
  const asked: VolumeQuery[] = [];
  const view = new TopicView(
    async (query) => {
      asked.push(query);
      const answer = answers.shift()!(query);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    () => now,
  );
  return { view, asked, at: (ms: number) => (now = ms) };
}

describe('TopicView', () => {
  test('the first ask waits for a read; a view younger than a second answers as it is, one older is read again behind the answer', async () => {
    const { view, asked, at } = scripted([() => ({ rows: [row('b', 5, 1), row('a', 2)], complete: true, count: 2 }), () => ({ rows: [row('a', 9)], complete: true, count: 1 })]);
    const first = view.fresh();
    assert.ok(first, 'no view yet: the answer waits');
    assert.equal(view.fresh(), first, 'asks meanwhile share the read');
    await first;
    assert.deepEqual([...view.topics()], [['b', { received: 5, unique: 5, duplicates: 0 }], ['a', { received: 2, unique: 2, duplicates: 0 }]]);
    assert.deepEqual(view.topTopics(1), ['b']);
    assert.deepEqual([...view.losses()], [['b', { expired: 1, deleted: 0 }]]);
    assert.equal(view.topicCount(), 2);
    at(900);
    assert.equal(view.fresh(), null);
    assert.equal(asked.length, 1);
    at(2000);
    assert.equal(view.fresh(), null, 'a view under 5 s old answers while it is read again');
    assert.equal(asked.length, 2);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(view.topTopics(10), ['a']);
  });

  test('when a shard has more topics than it listed, the largest are read again by name, and the count is the lower bound', async () => {
    const { view, asked } = scripted([
      () => ({ rows: [row('x', 7), row('y', 3)], complete: false, count: 1500 }),
      (query) => ({ rows: (query.names ?? []).map((name) => row(name, name === 'x' ? 8 : 4)), complete: true, count: 2 }),
    ]);
    await view.fresh();
    assert.deepEqual(asked, [
      { limit: 1000, names: null },
      { limit: 1000, names: ['x', 'y'] },
    ]);
    assert.equal(view.topics().get('x')?.received, 8);
    assert.equal(view.topicCount(), 1500);
  });

  test('a failed read keeps the last view, and the next ask reads again', async () => {
    const { view, asked, at } = scripted([() => ({ rows: [row('a', 1)], complete: true, count: 1 }), () => new Error('no replica'), () => ({ rows: [row('a', 2)], complete: true, count: 1 })]);
    await view.fresh();
    at(6000);
    await view.fresh();
    assert.equal(view.topics().get('a')?.received, 1);
    const again = view.fresh();
    assert.ok(again);
    await again;
    assert.equal(view.topics().get('a')?.received, 2);
    assert.equal(asked.length, 3);
  });
});
