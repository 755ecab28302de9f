import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { placeAll, shardsToHold, type NodeReport } from '../../../src/cluster/placement.js';

const nodes = (count: number) => Array.from({ length: count }, (_, index) => `node-${index}`);
const report = (hosting: number[], caughtUp = hosting, holds = true): NodeReport => ({ hosting, caughtUp, holds });
const node = (id: string, holds = true) => ({ id, holds });

describe('placement', () => {
  test('each shard gets min(R, nodes) distinct nodes, the same whatever order the set is listed in', () => {
    const placement = placeAll(64, nodes(5), 2);
    for (const placed of placement) {
      assert.equal(placed.length, 2);
      assert.equal(new Set(placed).size, 2);
    }
    assert.deepEqual(placeAll(64, [...nodes(5)].reverse().sort(), 2), placement);
    assert.deepEqual(placeAll(4, ['only'], 2), [['only'], ['only'], ['only'], ['only']]);
  });

  test('balance: every node holds its share rounded up or down, for 1 to 12 nodes, 4 to 64 shards, R 1 to 3', () => {
    for (const count of [1, 2, 3, 4, 5, 7, 12]) {
      for (const shards of [4, 8, 16, 64]) {
        for (const replicas of [1, 2, 3]) {
          const loads = new Map(nodes(count).map((node) => [node, 0]));
          for (const placed of placeAll(shards, nodes(count), replicas)) for (const node of placed) loads.set(node, loads.get(node)! + 1);
          const share = (Math.min(replicas, count) * shards) / count;
          for (const [node, load] of loads) assert.ok(load >= Math.floor(share) && load <= Math.ceil(share), `${count} nodes, ${shards} shards, R ${replicas}: ${node} holds ${load} (share ${share})`);
        }
      }
    }
  });

  test('a node joining moves a bounded part: with 4 → 5 nodes and R = 2, well under half the replicas move', () => {
    const before = placeAll(64, nodes(4), 2);
    const after = placeAll(64, nodes(5), 2);
    let moved = 0;
    for (let shard = 0; shard < 64; shard++) moved += before[shard]!.filter((node) => !after[shard]!.includes(node)).length;
    // 128 replicas; the new node's share is 25.6 of them: what moves is about that, not a reshuffle.
    assert.ok(moved >= 20 && moved <= 50, `${moved} of 128 replicas moved`);
  });

  test('make before break: a node keeps a shard it is no longer placed for until the placed nodes are caught up on it', () => {
    const shard = 0;
    const five = nodes(5);
    const placed = placeAll(8, five, 2)[shard]!;
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
