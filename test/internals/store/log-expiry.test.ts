/**
 * Cluster mode's expiry (src/store/log-expiry.ts) through the ShardDb, as a replica applies it:
 * an expire command in a commit removes what is due at its `now` to the end, so the outcome is a
 * function of the rows and the command, not of whatever the writer did or remembered before.
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { ExpireCommand } from '../../../src/store/log-expiry.js';
import type { RetentionRule } from '../../../src/store/retention.js';
import { ShardDb, type StoreBatch } from '../../../src/store/shard-db.js';
import { makeTempDir } from '../../helper.js';

const t0 = 1_700_000_000_000;
const rules: RetentionRule[] = [{ pattern: 'short.*', maxAgeMs: 2000 }, { pattern: 'big.*', maxBytes: 30_000 }];
const options = (path: string) => ({ path, shard: 0, shardCount: 1, expiryByLog: true });

function events(topic: string, from: number, count: number, receivedAt: number, seqBase: number): StoreBatch {
  return {
    receivedAt,
    rejected: 0,
    wantsStatuses: true,
    events: Array.from({ length: count }, (_, index) => ({ seq: seqBase + index, topic, eventId: `${topic}-${from + index}`, timestamp: '2025-10-22T10:30:00Z', source: 's', payload: `{"n":${from + index},"pad":"${'p'.repeat(40)}"}` })),
  };
}

/** Older and younger rows over three topics: more due rows than one statement reads (1000), and a size rule. */
const history: StoreBatch[][] = [
  [events('short.x', 0, 1500, t0, 1), events('big.y', 0, 300, t0, 2001)],
  [events('short.x', 1500, 1200, t0 + 1000, 3001), events('keep.z', 0, 50, t0 + 1000, 5001)],
  [events('short.x', 2700, 10, t0 + 9000, 6001), events('big.y', 300, 200, t0 + 9000, 7001)],
];

function expire(now: number, extra: Partial<ExpireCommand> = {}): StoreBatch {
  return { receivedAt: 0, rejected: 0, wantsStatuses: false, events: [], command: { kind: 'expire', now, retention: rules, forgetAfterMs: null, limit: 1_000_000, forgetKeys: 0, ...extra } };
}

/** Everything a replica's file holds that expiry touches. */
function dump(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return JSON.stringify([
      db.prepare('SELECT seq, topic_id, event_id, received_at FROM events ORDER BY seq').raw().all(),
      db.prepare('SELECT topic_id, event_id, retired_at FROM retired ORDER BY topic_id, event_id').raw().all(),
      db.prepare('SELECT topic, id, received, unique_count, duplicates, expired, deleted, stored_bytes FROM topics ORDER BY topic').raw().all(),
      db.prepare('SELECT * FROM counters').raw().all(),
      db.prepare('SELECT key, value FROM meta ORDER BY key').raw().all(), // the forget sweep's cursor among them
    ]);
  } finally {
    db.close();
  }
}

async function filled(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  const db = new ShardDb(options(path));
  for (const commit of history) db.commit(commit);
  db.close();
  return path;
}

describe('expire commands (cluster mode)', () => {
  test('the same rows and the same now remove the same rows, whatever the writer did or remembered before', async () => {
    const dir = await makeTempDir();
    const now = t0 + 10_000;
    // A: a writer that does nothing but the command.
    const a = await filled(dir, 'a.db');
    const writerA = new ShardDb(options(a));
    const outcome = writerA.commit([expire(now)]);
    writerA.close();

    // B: a writer whose expiry ran before: commands at earlier clocks with nothing due, other rules,
    // and topics it learned before the last ones existed.
    const b = join(dir, 'b.db');
    const writerB = new ShardDb(options(b));
    writerB.commit(history[0]!);
    assert.equal(writerB.commit([expire(t0 + 1000)]).batches[0]!.inserted, 0, 'nothing is due yet');
    writerB.commit([expire(t0 + 500, { retention: [{ pattern: '*', maxAgeMs: 3_600_000 }] })]);
    writerB.commit(history[1]!);
    writerB.commit([expire(t0 + 1500)]);
    writerB.commit(history[2]!);
    writerB.commit([expire(now)]);
    writerB.close();

    // C: a replica restored from a copy of A's file before the command: a fresh writer, no cursors.
    const c = join(dir, 'c.db');
    copyFileSync(await filled(dir, 'source.db'), c);
    const writerC = new ShardDb(options(c));
    writerC.commit([expire(now)]);
    writerC.close();

    assert.equal(dump(b), dump(a), 'a writer with a past ends where a fresh one does');
    assert.equal(dump(c), dump(a), 'a restored replica ends where the others do');

    // What is due, as a function of the rows: short.x older than 2 s, big.y's oldest past 30 000 bytes, keep.z nothing.
    const expired = Object.fromEntries(outcome.expired);
    assert.equal(expired['short.x'], 2700, 'every due row, past the 1000 one statement reads');
    assert.ok(expired['big.y']! > 0 && expired['big.y']! < 500, JSON.stringify(expired));
    assert.equal(expired['keep.z'], undefined);
    assert.equal(outcome.batches[0]!.inserted, expired['short.x']! + expired['big.y']!);
    const check = new Database(a, { readonly: true });
    const bytes = check.prepare("SELECT stored_bytes FROM topics WHERE topic = 'big.y'").pluck().get() as number;
    assert.ok(bytes <= 30_000, `big.y stores ${bytes} bytes, over its limit`);
    const oldest = check.prepare("SELECT min(received_at) FROM events e JOIN topics t ON t.id = e.topic_id WHERE t.topic = 'short.x'").pluck().get();
    assert.equal(oldest, t0 + 9000);
    assert.deepEqual(check.prepare('SELECT DISTINCT retired_at FROM retired').pluck().all(), [Math.floor(now / 1000)], "retired at the command's now");
    check.close();

    // Repeated, or an older clock after a newer one: nothing more goes.
    const again = new ShardDb(options(a));
    const before = dump(a);
    assert.equal(again.commit([expire(now), expire(now - 5000)]).batches.reduce((sum, batch) => sum + batch.inserted, 0), 0);
    again.close();
    const [rows, , topics] = JSON.parse(dump(a)) as unknown[];
    const [rowsBefore, , topicsBefore] = JSON.parse(before) as unknown[];
    assert.deepEqual([rows, topics], [rowsBefore, topicsBefore]);
  });

  test("a command's limit bounds its transaction; commands at the same now, one after another, end where one without a limit does", async () => {
    const dir = await makeTempDir();
    const now = t0 + 10_000;
    const whole = await filled(dir, 'whole.db');
    const limited = await filled(dir, 'limited.db');
    const writer = new ShardDb(options(whole));
    writer.commit([expire(now)]);
    writer.close();
    const stepped = new ShardDb(options(limited));
    const steps: number[] = [];
    for (let removed = -1; removed !== 0; ) {
      removed = stepped.commit([expire(now, { limit: 1000 })]).batches[0]!.inserted;
      steps.push(removed);
    }
    stepped.close();
    assert.deepEqual(steps.slice(0, 2), [1000, 1000]);
    const reader = new Database(whole, { readonly: true });
    assert.equal(steps.reduce((sum, count) => sum + count, 0), reader.prepare('SELECT expired FROM counters').pluck().get(), 'as many as the whole one expired');
    reader.close();
    assert.equal(dump(limited), dump(whole));
  });

  test('an expired identity stays a duplicate; sweeps forget identities retired long enough ago, a slice each, from a cursor in the file', async () => {
    const dir = await makeTempDir();
    const forget = (now: number, forgetKeys: number) => expire(now, { forgetAfterMs: 100_000, forgetKeys });
    const path = join(dir, 'live.db');
    const db = new ShardDb(options(path));
    db.commit(history[0]!);
    db.commit([expire(t0 + 60_000)]); // 1500 short.x rows go: their identities are retired at t0 + 60 s
    const resend = db.commit([events('short.x', 0, 3, t0 + 61_000, 9001)]);
    assert.deepEqual([...resend.batches[0]!.statuses!], [0, 0, 0], 'a retired identity is a duplicate');
    // No sweep, or not long enough ago: the identities stay.
    db.commit([expire(t0 + 200_000, { forgetAfterMs: 100_000 })]);
    assert.equal(db.commit([forget(t0 + 100_000, 5000)]).batches[0]!.inserted, 0);
    assert.deepEqual([...db.commit([events('short.x', 3, 2, t0 + 62_000, 9101)]).batches[0]!.statuses!], [0, 0]);
    // Two waves of retired identities, interleaved in key order: 1500 at t0 + 60 s, 1200 more at t0 + 150 s.
    db.commit(history[1]!);
    db.commit([expire(t0 + 150_000)]);
    // At t0 + 200 s only the first wave is past the bound: a sweep of 1000 keys erases those among them.
    const first = db.commit([forget(t0 + 200_000, 1000)]).batches[0]!.inserted;
    assert.ok(first > 0 && first < 1000, String(first));
    db.close();
    // A replica restored from a copy of the file goes on from the same key as the live one: from the
    // start, it would erase a different set (the second wave's keys among the first 1000).
    const copy = join(dir, 'restored.db');
    copyFileSync(path, copy);
    const live = new ShardDb(options(path));
    const restored = new ShardDb(options(copy));
    for (const writer of [live, restored]) {
      assert.equal(writer.commit([forget(t0 + 300_000, 5000)]).batches[0]!.inserted, 2700 - 1000, 'the rest of the pass, every key after the cursor');
      assert.equal(writer.commit([forget(t0 + 300_000, 5000)]).batches[0]!.inserted, 1000 - first, 'a new pass from the first key');
      assert.deepEqual([...writer.commit([events('short.x', 0, 2, t0 + 300_000, 9201)]).batches[0]!.statuses!], [1, 1], 'a forgotten identity is stored again');
      writer.close();
    }
    assert.equal(dump(copy), dump(path));
    const reader = new Database(path, { readonly: true });
    assert.equal(reader.prepare('SELECT count(*) FROM retired').pluck().get(), 0);
    reader.close();
  });

  test("a writer driven by the log never expires by its own clock, whatever rules it was given", async () => {
    const path = join(await makeTempDir(), 'shard-000.db');
    const db = new ShardDb({ ...options(path), retention: rules, forgetAfterMs: 1000 });
    db.commit(history[0]!);
    assert.equal(db.expires, false);
    assert.deepEqual(db.expire(t0 + 3_600_000, 1000), { expired: [], more: false });
    assert.equal(db.snapshot().counters.expired, 0);
    db.close();
  });

  test('a commit that rolls back after its command learned a new topic leaves nothing learned behind (the id goes to the next topic)', async () => {
    const path = join(await makeTempDir(), 'shard-000.db');
    const db = new ShardDb(options(path));
    db.commit(history[0]!);
    const broken = events('keep.q', 0, 1, t0, 8001);
    (broken.events[0] as { topic: string | null }).topic = null; // violates NOT NULL after the command ran
    assert.throws(() => db.commit([events('short.new', 0, 5, t0, 8101), expire(t0 + 10_000), broken]));
    // The id short.new had in the rolled-back commit now belongs to keep.q, which no rule matches.
    db.commit([events('keep.q', 0, 5, t0, 8201)]);
    const outcome = db.commit([expire(t0 + 10_000)]);
    assert.deepEqual([...outcome.expired.keys()].sort(), ['short.x'], 'short.x is due; keep.q, under the id short.new had, is not');
    assert.deepEqual(db.snapshot().losses.map(([topic]) => topic), ['short.x']);
    db.close();
  });

  test('a malformed command (a clock that is no number) removes nothing, rather than everything', async () => {
    const path = join(await makeTempDir(), 'shard-000.db');
    const db = new ShardDb(options(path));
    db.commit(history[0]!);
    assert.equal(db.commit([expire(Number.NaN)]).batches[0]!.inserted, 0);
    assert.equal(db.snapshot().counters.expired, 0);
    db.close();
  });
});
