import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { KV } from 'nats';
import { Leases } from '../../../src/cluster/leases.js';
import { Ownership, type OwnershipOptions } from '../../../src/cluster/ownership.js';

/** JetStream's answer to a write at a stale revision (err_code 10071), as nats.js raises it. */
function wrongLastSequence(): Error {
  return Object.assign(new Error('wrong last sequence'), { api_error: { code: 400, err_code: 10071, description: 'wrong last sequence' } });
}

interface Entry {
  value: string;
  revision: number;
  writtenAt: number;
}

/**
 * An in-memory KV bucket with what leases use: history 1, entries gone a TTL after their last
 * write, create / update / delete refused with wrong-last-sequence as JetStream refuses them.
 * Time is performance.now(), which the tests drive.
 */
class FakeKv {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Entry>();
  #revision = 0;
  /** While set, every call waits for it (a NATS failover). */
  stall: Promise<void> | null = null;
  /** While set, every call fails with it. */
  failure: Error | null = null;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get kv(): KV {
    return this as unknown as KV;
  }

  /** Another node's write: a key it now holds. */
  write(key: string, holder: string): number {
    this.#entries.set(key, { value: holder, revision: ++this.#revision, writtenAt: performance.now() });
    return this.#revision;
  }

  holder(key: string): string | null {
    return this.#live(key)?.value ?? null;
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    await this.#call();
    if (this.#live(key)) throw wrongLastSequence();
    return this.write(key, new TextDecoder().decode(value));
  }

  async update(key: string, value: Uint8Array, revision: number): Promise<number> {
    await this.#call();
    if (this.#live(key)?.revision !== revision) throw wrongLastSequence();
    return this.write(key, new TextDecoder().decode(value));
  }

  async delete(key: string, options: { previousSeq: number }): Promise<void> {
    await this.#call();
    if (this.#live(key)?.revision !== options.previousSeq) throw wrongLastSequence();
    this.#entries.delete(key);
  }

  async get(key: string): Promise<{ operation: 'PUT'; value: Uint8Array; revision: number } | null> {
    await this.#call();
    const entry = this.#live(key);
    return entry ? { operation: 'PUT', value: new TextEncoder().encode(entry.value), revision: entry.revision } : null;
  }

  async #call(): Promise<void> {
    if (this.stall) await this.stall;
    if (this.failure) throw this.failure;
  }

  #live(key: string): Entry | null {
    const entry = this.#entries.get(key);
    if (!entry) return null;
    if (performance.now() - entry.writtenAt >= this.#ttlMs) {
      this.#entries.delete(key);
      return null;
    }
    return entry;
  }
}

const kTtlMs = 4000;
/** The ownership's round interval: min(1 s, TTL / 4). */
const kRoundMs = 1000;

/** Fake time: intervals and performance.now() both follow `t.mock.timers.tick`. */
function fakeTime(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 10_000 });
  t.mock.method(performance, 'now', () => Date.now());
}

/** Every queued reaction has run: the fake KV answers at once, so a round is over. */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `count` rounds, one interval each, each let run to its end. */
async function rounds(t: TestContext, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    t.mock.timers.tick(kRoundMs);
    await settled();
  }
}

function ownership(store: FakeKv, holder: string, options: Partial<OwnershipOptions> = {}): { node: Ownership; errors: string[] } {
  const errors: string[] = [];
  const node = new Ownership(new Leases(store.kv, holder, kTtlMs), { shards: 4, ttlMs: kTtlMs, caughtUp: () => true, onError: (message) => errors.push(message), ...options });
  return { node, errors };
}

describe('Ownership', () => {
  test('alone, a node takes every free shard at its first round, and each lease\'s revision is its fencing token', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    const { node } = ownership(store, 'node-a');
    await settled();
    assert.deepEqual(node.owned(), [0, 1, 2, 3]);
    for (let shard = 0; shard < 4; shard++) {
      assert.equal(store.holder(`own.${shard}`), 'node-a');
      assert.equal(node.owns(shard), true);
      assert.equal(typeof node.leaseRevision(shard), 'number');
    }
    assert.equal(new Set([0, 1, 2, 3].map((shard) => node.leaseRevision(shard))).size, 4);
    await node.stop();
  });

  test('takes free shards only up to its fair share of the nodes it sees holding leases', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    store.write('own.0', 'node-b');
    const { node } = ownership(store, 'node-a', { shards: 6 });
    await settled();
    assert.equal(node.owned().length, 3, 'two nodes seen: ⌈6 / 2⌉');
    assert.equal(node.owns(0), false);

    const other = new FakeKv(kTtlMs);
    other.write('own.0', 'node-b');
    other.write('own.1', 'node-c');
    const third = ownership(other, 'node-a', { shards: 6 }).node;
    await settled();
    assert.deepEqual(third.owned(), [2, 3], 'three nodes seen: ⌈6 / 3⌉, the first free ones');
    await node.stop();
    await third.stop();
  });

  test('a shard whose replica is not caught up is not taken until it is', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    let caughtUp = false;
    const { node } = ownership(store, 'node-a', { shards: 2, caughtUp: (shard) => shard === 0 || caughtUp });
    await settled();
    assert.deepEqual(node.owned(), [0]);
    assert.equal(store.holder('own.1'), null, 'left free for a node that is caught up');
    caughtUp = true;
    await rounds(t, 1);
    assert.deepEqual(node.owned(), [0, 1]);
    await node.stop();
  });

  test('held leases are renewed before they lapse, each renewal a new revision, for as long as the node runs', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    const { node, errors } = ownership(store, 'node-a', { shards: 1 });
    await settled();
    const revisions = [node.leaseRevision(0)];
    for (let index = 0; index < 10; index++) {
      await rounds(t, 2); // 2 s: past a third of the TTL, well before two thirds
      revisions.push(node.leaseRevision(0));
      assert.equal(node.owns(0), true, `after ${(index + 1) * 2} s`);
    }
    assert.ok(revisions.every((revision, index) => index === 0 || revision! > revisions[index - 1]!), `revisions grow: ${revisions.join(', ')}`);
    assert.deepEqual(errors, []);
    await node.stop();
  });

  test('a lease another node took over (its key rewritten) is lost at the next renewal, and not taken back', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    const { node } = ownership(store, 'node-a', { shards: 2 });
    await settled();
    assert.deepEqual(node.owned(), [0, 1]);
    store.write('own.1', 'node-b'); // say our key expired while we were paused and node-b took it
    await rounds(t, 2);
    assert.deepEqual(node.owned(), [0]);
    assert.equal(node.leaseRevision(1), null);
    assert.equal(store.holder('own.1'), 'node-b');
    await node.stop();
  });

  test('with no confirmed renewal, a holder stops counting itself the owner by its own clock, before the key can expire', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    const { node } = ownership(store, 'node-a', { shards: 1 });
    await settled();
    let unstall!: () => void;
    store.stall = new Promise((resolve) => (unstall = resolve)); // the KV stops answering
    await rounds(t, 2);
    assert.equal(node.owns(0), true, '2 s after the last confirmed write');
    t.mock.timers.tick(Math.floor(kTtlMs * (2 / 3)) - 2000);
    assert.equal(node.owns(0), true, 'just short of two thirds of the TTL');
    t.mock.timers.tick(1);
    assert.equal(node.owns(0), false, 'two thirds of the TTL after the write was sent');
    assert.equal(node.leaseRevision(0), null);
    assert.equal(store.holder('own.0'), 'node-a', 'the key itself has not expired yet');
    store.stall = null;
    unstall();
    await settled();
    await node.stop();
  });

  test('a round that fails is reported, and the next round tries again', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    store.failure = new Error('timeout');
    const { node, errors } = ownership(store, 'node-a', { shards: 1 });
    await settled();
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /timeout/);
    assert.deepEqual(node.owned(), []);
    store.failure = null;
    await rounds(t, 1);
    assert.deepEqual(node.owned(), [0]);
    await node.stop();
  });

  test('stop gives every lease back at once, so another node takes over without waiting for the TTL; no round runs after it', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    const { node } = ownership(store, 'node-a');
    await settled();
    await node.stop();
    assert.deepEqual(node.owned(), []);
    for (let shard = 0; shard < 4; shard++) assert.equal(store.holder(`own.${shard}`), null);
    await rounds(t, 3);
    for (let shard = 0; shard < 4; shard++) assert.equal(store.holder(`own.${shard}`), null);
    const successor = ownership(store, 'node-b').node;
    await settled();
    assert.deepEqual(successor.owned(), [0, 1, 2, 3]);
    await successor.stop();
  });

  test('stop does not release a lease somebody else holds by now', async (t) => {
    fakeTime(t);
    const store = new FakeKv(kTtlMs);
    const { node } = ownership(store, 'node-a', { shards: 1 });
    await settled();
    store.write('own.0', 'node-b');
    await node.stop();
    assert.equal(store.holder('own.0'), 'node-b');
  });
});
