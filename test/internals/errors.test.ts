import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { AggregatorError, errorCodes, httpStatus, InvalidEventError, OverloadedError, toAggregatorError } from '../../src/errors.js';

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
