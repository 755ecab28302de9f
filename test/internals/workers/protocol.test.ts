import assert from 'node:assert/strict';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, test } from 'node:test';
import { AggregatorError, ConfigError, fromWire, InvalidEventError, OverloadedError, type ErrorCode } from '../../../src/errors.js';
import { toFailure, type TaskFailure } from '../../../src/workers/protocol.js';

/** Sends a value through a real MessagePort, as a worker's answer travels (structured clone). */
function acrossThreads<T>(value: T): T {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(value);
  const received = receiveMessageOnPort(port2);
  port1.close();
  port2.close();
  assert.ok(received);
  return received.message as T;
}

function rebuilt(error: unknown): { failure: TaskFailure; error: AggregatorError } {
  const failure = acrossThreads(toFailure(error));
  return { failure, error: fromWire(failure.error) };
}

describe('toFailure', () => {
  test('a failure is { ok: false, error } and survives postMessage: the code, message and status come back with fromWire', () => {
    const cases: [unknown, ErrorCode, number][] = [
      [new OverloadedError('ring full'), 'overloaded', 503],
      [new ConfigError('bad --shards'), 'config_invalid', 500],
      [new AggregatorError('disk_full', 'no room'), 'disk_full', 503],
      [new InvalidEventError([{ index: 0, path: '/topic', message: 'bad' }], 1), 'invalid_event', 422],
    ];
    for (const [original, code, status] of cases) {
      const { failure, error } = rebuilt(original);
      assert.equal(failure.ok, false);
      assert.ok(error instanceof AggregatorError);
      assert.deepEqual([error.code, error.message, error.status], [code, (original as Error).message, status]);
    }
  });

  test('what a plain postMessage would lose is kept: an error subclass\'s code', () => {
    const plain = acrossThreads(new OverloadedError('ring full')) as unknown as { code?: unknown };
    assert.notEqual(plain.code, 'overloaded', 'the reason toFailure exists (if this fails, Node now clones own properties of errors)');
    assert.equal(rebuilt(new OverloadedError('ring full')).error.code, 'overloaded');
  });

  test('a SQLite error becomes internal and keeps its SQLite code as sourceCode; a wrapped one keeps its own code', () => {
    const full = rebuilt(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }));
    assert.deepEqual([full.error.code, full.error.sourceCode, full.error.message, full.error.status], ['internal', 'SQLITE_FULL', 'database or disk is full', 500]);
    const wrapped = rebuilt(new AggregatorError('shard_unreadable', 'cannot open', { cause: Object.assign(new Error('x'), { code: 'SQLITE_CORRUPT' }) }));
    assert.deepEqual([wrapped.error.code, wrapped.error.sourceCode], ['shard_unreadable', 'SQLITE_CORRUPT']);
  });

  test('anything thrown, even a string or null, is a failure with a message', () => {
    for (const thrown of ['boom', null, undefined, 42, { code: 'not_a_catalogue_code' }]) {
      const { failure, error } = rebuilt(thrown);
      assert.equal(failure.ok, false);
      assert.equal(error.code, 'internal');
      assert.equal(typeof error.message, 'string');
    }
    assert.equal(rebuilt('boom').error.message, 'boom');
  });
});
