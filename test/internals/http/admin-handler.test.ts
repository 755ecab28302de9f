import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AggregatorError } from '../../../src/errors.js';
import { deleteHandler } from '../../../src/http/admin-handler.js';
import type { UploadRequest } from '../../../src/http/upload.js';
import type { CommitPath, DeletionRequest, DeletionResult } from '../../../src/ingest/storage.js';

/** The commit path's one method the handler calls. */
function commitPath(result: DeletionResult): { path: CommitPath; requests: DeletionRequest[] } {
  const requests: DeletionRequest[] = [];
  const path = {
    delete: (request: DeletionRequest): Promise<DeletionResult> => {
      requests.push(request);
      return Promise.resolve(result);
    },
  } as unknown as CommitPath;
  return { path, requests };
}

function body(value: string): UploadRequest {
  return { body: Buffer.from(value), contentType: 'application/json', query: new URLSearchParams(), parameters: [] };
}

const withCode = (code: string) => (error: unknown) => error instanceof AggregatorError && error.code === code;

describe('deleteHandler', () => {
  test('hands the parsed selector to the commit path and answers 200 with its result', async () => {
    const { path, requests } = commitPath({ deleted: 3, more: true });
    const answer = await deleteHandler(path)(body('{"topic":"auth.prod","event_ids":["a","b"],"forget":true}'));
    assert.deepEqual(requests, [{ topic: 'auth.prod', receivedFrom: null, receivedTo: null, eventIds: ['a', 'b'], forget: true }]);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body as string), { deleted: 3, more: true });
  });

  test('an age is counted back from the moment of the request', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-01-02T00:00:00Z') });
    const { path, requests } = commitPath({ deleted: 0, more: false });
    await deleteHandler(path)(body('{"topic":"auth.prod","received_before":"-1d","received_after":"2025-12-01T00:00:00Z"}'));
    assert.equal(requests[0]!.receivedTo, Date.parse('2026-01-01T00:00:00Z'));
    assert.equal(requests[0]!.receivedFrom, Date.parse('2025-12-01T00:00:00Z'));
    assert.equal(requests[0]!.eventIds, null);
  });

  test('a body that is not JSON, or not a selector, never reaches the commit path', async () => {
    const { path, requests } = commitPath({ deleted: 0, more: false });
    const handler = deleteHandler(path);
    await assert.rejects(handler(body('{')), withCode('bad_json'));
    await assert.rejects(handler(body('{"topic":"auth.prod","event_ids":[]}')), withCode('invalid_selector'));
    await assert.rejects(handler(body('{"topic":"auth.prod","event_ids":["a"],"received_before":"-1d"}')), withCode('invalid_selector'));
    await assert.rejects(handler({ ...body(''), body: Buffer.from([0xff, 0xfe]) }), withCode('bad_json'), 'not UTF-8');
    assert.deepEqual(requests, []);
  });
});
