import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { AggregatorError, errorCodes, fromWire, httpErrorCodes, httpStatus, InvalidEventError, OverloadedError, toAggregatorError, toWire } from '../../src/errors.js';
import { ErrorSchema } from '../../src/events/responses.js';

describe('errors', () => {
  test('every error code has a status and is documented in docs/API.md', async () => {
    const doc = await readFile(new URL('../../docs/API.md', import.meta.url), 'utf8');
    for (const code of errorCodes) {
      assert.ok(httpStatus(code) >= 400 && httpStatus(code) < 600, code);
      assert.ok(doc.includes(`\`${code}\``), `${code} is not in docs/API.md`);
    }
  });

  test('errors serialise to the contract shape', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(new OverloadedError('full'))), { error: { code: 'overloaded', message: 'full' } });
    const invalid = new InvalidEventError([{ index: 3, path: '/timestamp', message: 'bad' }], 4);
    assert.equal(invalid.status, 422);
    assert.deepEqual(JSON.parse(JSON.stringify(invalid)).error.details, [{ index: 3, path: '/timestamp', message: 'bad' }]);
  });

  test('anything else becomes a 500 internal error', () => {
    const error = toAggregatorError(new TypeError('boom'));
    assert.ok(error instanceof AggregatorError);
    assert.deepEqual([error.code, error.status, error.message], ['internal', 500, 'boom']);
  });
});

describe('errors across a thread boundary', () => {
  test('toWire / fromWire keep the code, the message and a wrapped SQLite code', () => {
    const original = new AggregatorError('shard_unreadable', '/data/shard-000.db: disk I/O error', { cause: Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }) });
    const wire = structuredClone(toWire(original));
    assert.deepEqual(wire, { code: 'shard_unreadable', message: '/data/shard-000.db: disk I/O error', sourceCode: 'SQLITE_IOERR' });
    const rebuilt = fromWire(wire);
    assert.ok(rebuilt instanceof AggregatorError);
    assert.deepEqual([rebuilt.code, rebuilt.message, rebuilt.sourceCode, rebuilt.status], ['shard_unreadable', original.message, 'SQLITE_IOERR', 500]);
  });

  test('a foreign error keeps its own code as sourceCode and becomes internal', () => {
    const sqlite = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    assert.deepEqual(toWire(sqlite), { code: 'internal', message: 'database or disk is full', sourceCode: 'SQLITE_FULL' });
    assert.deepEqual(toWire(Object.assign(new Error('x'), { code: 'ring_claimed' })), { code: 'ring_claimed', message: 'x' });
  });

  test('the OpenAPI error-code enum is exactly the HTTP codes of the catalogue', () => {
    const code = (ErrorSchema.properties.error.properties.code as unknown as { anyOf: { const: string }[] }).anyOf.map((option) => option.const);
    assert.deepEqual(code, httpErrorCodes);
    assert.ok(code.includes('bad_request'));
    for (const internal of errorCodes.filter((candidate) => !httpErrorCodes.includes(candidate))) assert.ok(!code.includes(internal));
  });
});
