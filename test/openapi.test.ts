import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getJson, startServer } from './helper.js';
import { schemaValidator } from './support/openapi.js';

describe('GET /openapi.json', () => {
  test('is served with every route of the API, and a live /stats matches its schema', async () => {
    const server = await startServer({ shards: 1 });
    const served = await getJson(`${server.url}/openapi.json`);
    assert.equal(served.status, 200);
    assert.deepEqual(Object.keys(served.body.paths).sort(), ['/admin/delete', '/es', '/es/_bulk', '/es/_cat/health', '/es/_cluster/health', '/es/{index}/_bulk', '/events', '/groups', '/groups/{name}', '/groups/{name}/ack', '/groups/{name}/consume', '/groups/{name}/extend', '/groups/{name}/fetch', '/groups/{name}/nak', '/groups/{name}/term', '/health', '/loki/api/v1/push', '/metrics', '/publish', '/search', '/search/histogram', '/search/top', '/stats', '/tail', '/topics', '/v1/logs']);
    const stats = await getJson(`${server.url}/stats`);
    assert.ok(schemaValidator(served.body, 'Stats')(stats.body), 'a live /stats answer matches the published schema');
  });
});
