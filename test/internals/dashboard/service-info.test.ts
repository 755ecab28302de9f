import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { routesOf } from '../../../src/dashboard/service-info.js';
import { openApiDocument } from '../../../src/http/openapi.js';

describe('routesOf', () => {
  test('the route list comes from the OpenAPI document', () => {
    const routes = routesOf(openApiDocument({ version: '1.0.0', maxBatch: 10, maxBodyBytes: 100 })).map((route) => `${route.method} ${route.path}`);
    assert.deepEqual(routes.sort(), ['GET /', 'GET /docs', 'GET /events', 'GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /stats', 'GET /tail', 'POST /publish']);
  });
});
