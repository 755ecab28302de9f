import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Sequencer } from '../../../src/ingest/sequencer.js';

describe('Sequencer', () => {
  test('starts at the seq it is given', () => {
    const sequencer = new Sequencer(42);
    assert.equal(sequencer.current, 41);
    assert.deepEqual(sequencer.allocate(3), { first: 42, end: 45, done: false });
    assert.equal(sequencer.allocate(1).first, 45);
  });

  test('reserves the last seq of every range before handing it out, and hands out nothing the reservation refused', () => {
    const reserved: number[] = [];
    let refuse = false;
    const sequencer = new Sequencer(1, (seq) => {
      if (refuse) throw new Error('no room');
      reserved.push(seq);
    });
    sequencer.allocate(3);
    sequencer.allocate(1);
    assert.deepEqual(reserved, [3, 4]);
    refuse = true;
    assert.throws(() => sequencer.allocate(2), /no room/);
    refuse = false;
    assert.equal(sequencer.allocate(1).first, 5, 'the refused range was never handed out');
    assert.equal(sequencer.current, 0);
  });

  test('the watermark never passes an unfinished range, whatever order ranges finish in', () => {
    const sequencer = new Sequencer(1);
    const a = sequencer.allocate(2); // 1..2
    const b = sequencer.allocate(3); // 3..5
    const c = sequencer.allocate(1); // 6
    assert.equal(sequencer.current, 0);
    sequencer.finish(c);
    assert.equal(sequencer.current, 0, 'c finished, but a and b are still in flight');
    sequencer.finish(a);
    assert.equal(sequencer.current, 2);
    sequencer.finish(b);
    assert.equal(sequencer.current, 6);
  });

  test('listeners hear every advance of the watermark and nothing else', () => {
    const sequencer = new Sequencer(1);
    const heard: number[] = [];
    sequencer.onAdvance(() => heard.push(sequencer.current));
    const a = sequencer.allocate(1);
    const b = sequencer.allocate(1);
    sequencer.finish(b);
    assert.deepEqual(heard, [], 'b finished behind a: no advance');
    sequencer.finish(a);
    assert.deepEqual(heard, [2]);
  });
});
