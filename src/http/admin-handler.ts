import { textOf } from '../events/decode.js';
import { parseDeletionSelector } from '../events/deletion-selector.js';
import type { CommitPath } from '../ingest/storage.js';
import type { Answer, UploadHandler } from './upload.js';

/**
 * POST /admin/delete: removes a topic's stored events by id list or receive-time range, through the
 * shard rings (so in order with the commits around it); answered once every shard applied it.
 * Idempotent: what is gone stays gone, and a repeat removes nothing more.
 */
export function deleteHandler(commitPath: CommitPath): UploadHandler {
  return async (request): Promise<Answer> => {
    const selector = parseDeletionSelector(textOf(request.body), Date.now());
    const result = await commitPath.delete(selector);
    return { status: 200, body: JSON.stringify(result) };
  };
}
