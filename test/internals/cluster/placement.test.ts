import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { placeShard, shardsToHold, type NodeReport } from '../../../src/cluster/placement.js';

const nodes = (count: number) => Array.from({ length: count }, (_, index) => `node-${index}`);
const report = (hosting: number[], caughtUp = hosting, holds = true): NodeReport => ({ hosting, caughtUp, holds });
const node = (id: string, holds = true) => ({ id, holds });

describe('placement', () => {
  test('each shard gets min(R, nodes) distinct nodes, the same whatever order the set is listed in', () => {
    for (let shard = 0; shard < 64; shard++) {
      const placed = placeShard(shard, nodes(5), 2);
      assert.equal(placed.length, 2);
      assert.equal(new Set(placed).size, 2);
      assert.deepEqual(placeShard(shard, [...nodes(5)].reverse(), 2), placed);
    }
    assert.deepEqual(placeShard(3, ['only'], 2), ['only']);
  });

  test('spread: with 4 nodes and R = 2 each node holds about half of 256 shards', () => {
    const counts = new Map<string, number>();
    for (let shard = 0; shard < 256; shard++) for (const node of placeShard(shard, nodes(4), 2)) counts.set(node, (counts.get(node) ?? 0) + 1);
    for (const [node, count] of counts) assert.ok(count > 128 * 0.8 && count < 128 * 1.2, `${node} holds ${count} of 256 shards (expected ~128)`);
  });

  test('a node joining takes only shards it now wins; every other shard keeps its nodes', () => {
    let moved = 0;
    for (let shard = 0; shard < 256; shard++) {
      const before = placeShard(shard, nodes(4), 2);
      const after = placeShard(shard, nodes(5), 2);
      const lost = before.filter((node) => !after.includes(node));
      if (lost.length > 0) moved++;
      // What changed is only that node-4 came in.
      for (const node of after) assert.ok(before.includes(node) || node === 'node-4');
    }
    assert.ok(moved > 256 * 0.25 && moved < 256 * 0.55, `about 2/5 of the shards move to the new node: ${moved}`);
  });

  test('make before break: a node keeps a shard it is no longer placed for until the placed nodes are caught up on it', () => {
    const shard = 0;
    const five = nodes(5);
    const placed = placeShard(shard, five, 2);
    const leaving = five.find((node) => !placed.includes(node))!;
    const live = new Map<string, NodeReport>(five.map((node) => [node, report([])]));
    // The placed nodes started the shard but have not caught up: the old holder keeps it.
    for (const node of placed) live.set(node, report([shard], []));
    assert.ok(shardsToHold(node(leaving), 8, live, 2, new Set([shard])).has(shard));
    // One caught up: still short of R.
    live.set(placed[0]!, report([shard]));
    assert.ok(shardsToHold(node(leaving), 8, live, 2, new Set([shard])).has(shard));
    live.set(placed[1]!, report([shard]));
    assert.ok(!shardsToHold(node(leaving), 8, live, 2, new Set([shard])).has(shard));
    // A node never holding it does not start to.
    assert.ok(!shardsToHold(node(leaving), 8, new Map(), 2, new Set()).has(99));
  });

  test('a router node (--hold-shards off) is placed nothing, and is left out of the others\' placement', () => {
    const live = new Map<string, NodeReport>([...nodes(3).map((id) => [id, report([])] as const), ['router', report([], [], false)]]);
    assert.equal(shardsToHold(node('router', false), 16, live, 2, new Set()).size, 0);
    const withoutRouter = new Map([...live].filter(([id]) => id !== 'router'));
    for (const id of nodes(3)) assert.deepEqual([...shardsToHold(node(id), 16, live, 2, new Set())], [...shardsToHold(node(id), 16, withoutRouter, 2, new Set())]);
    // One that held shards before it became a router keeps them until the placed nodes caught up.
    assert.ok(shardsToHold(node('router', false), 16, live, 2, new Set([5])).has(5));
  });

  test('R at least the node count: every node holds every shard (full replication)', () => {
    const live = new Map(nodes(3).map((node) => [node, report([])] as const));
    assert.equal(shardsToHold(node('node-1'), 16, live, 3, new Set()).size, 16);
    assert.equal(shardsToHold(node('node-1'), 16, live, 5, new Set()).size, 16);
  });
});
