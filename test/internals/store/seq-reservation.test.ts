import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { kSeqBlock, SeqReservation } from '../../../src/store/seq-reservation.js';
import { makeTempDir } from '../../helper.js';

const onDisk = (dir: string): number => (JSON.parse(readFileSync(join(dir, 'seq-reservation.json'), 'utf8')) as { through: number }).through;

describe('SeqReservation', () => {
  test('a new data dir starts at seq 1 with a block reserved on disk before any seq is handed out', async () => {
    const dir = await makeTempDir();
    const { reservation, next } = SeqReservation.open(dir, 0);
    assert.equal(next, 1);
    assert.equal(onDisk(dir), kSeqBlock);
    assert.equal(reservation.through, kSeqBlock);
  });

  test('a seq inside the reservation writes nothing; one past it records a block beyond it first', async () => {
    const dir = await makeTempDir();
    const { reservation } = SeqReservation.open(dir, 0);
    reservation.cover(kSeqBlock);
    assert.equal(onDisk(dir), kSeqBlock);
    reservation.cover(kSeqBlock + 10);
    assert.equal(onDisk(dir), 2 * kSeqBlock + 10);
  });

  test('a restart starts past everything reserved, even seqs no shard kept (a power cut took them), and past every stored seq', async () => {
    const dir = await makeTempDir();
    const first = SeqReservation.open(dir, 0);
    first.reservation.cover(kSeqBlock + 5); // handed out up to here, then the cut lost the rows
    const reserved = first.reservation.through;
    const afterCut = SeqReservation.open(dir, 17);
    assert.equal(afterCut.next, reserved + 1, 'no seq a reader may have seen is handed out again');
    assert.equal(onDisk(dir), reserved + kSeqBlock);
    const storedBeyond = SeqReservation.open(dir, 10 * kSeqBlock); // a data dir whose shards hold more (an older build's)
    assert.equal(storedBeyond.next, 10 * kSeqBlock + 1);
  });

  test('a damaged reservation refuses to start rather than guess', async () => {
    const dir = await makeTempDir();
    writeFileSync(join(dir, 'seq-reservation.json'), '{"through": -3}');
    assert.throws(() => SeqReservation.open(dir, 0), /seq-reservation.json is unreadable/);
  });
});
