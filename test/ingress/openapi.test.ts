import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import { openApiDocument } from '../../src/http/openapi.js';
import { routeTable, type RouteHandlers } from '../../src/http/routes.js';
import { isEventId, isRfc3339DateTime } from '../../src/events/schema.js';
import { getJson, startServer } from '../helper.js';

// The document describes the table; the handlers are never called here.
const document = JSON.parse(openApiDocument(routeTable({} as RouteHandlers, { maxBatch: 10_000, maxBodyBytes: 16 << 20 }), { version: '1.2.3' }));

/** An independent JSON Schema 2020-12 validator loaded with the document's components. */
function validatorFor(schemaName: string): (value: unknown) => boolean {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  ajv.addFormat('date-time', isRfc3339DateTime);
  ajv.addFormat('event-id', isEventId);
  ajv.addFormat('well-formed', (value: string) => value.isWellFormed());
  ajv.addSchema({ $id: 'doc', components: document.components });
  const validate = ajv.getSchema(`doc#/components/schemas/${schemaName}`)!;
  return (value) => {
    const ok = validate(value) as boolean;
    if (!ok) console.error(schemaName, JSON.stringify(validate.errors));
    return ok;
  };
}

/** Every JSON body sent with curl -d '…' in the README. */
function curlBodies(markdown: string): unknown[] {
  return [...markdown.matchAll(/ -d '([^']+)'/g)].map((match) => JSON.parse(match[1]!));
}

function jsonBlockAfter(markdown: string, heading: string): unknown {
  const section = markdown.slice(markdown.indexOf(heading));
  return JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!);
}

describe('/openapi.json', () => {
  test('is an OpenAPI 3.1 document whose Event schema accepts every README example', async () => {
    assert.equal(document.openapi, '3.1.0');
    assert.equal(document.info.version, '1.2.3');
    const isEvent = validatorFor('Event');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const bodies = curlBodies(readme);
    assert.ok(bodies.length >= 2, 'the README has curl examples');
    for (const body of bodies) for (const item of Array.isArray(body) ? body : [body]) assert.ok(isEvent(item), JSON.stringify(item));
    assert.ok(!isEvent({ ...(bodies[0] as object), extra: 1 }), 'unknown fields are refused by the published schema too');
    assert.ok(!isEvent({ ...(bodies[0] as object), timestamp: '2025-10-22T10:30:00' }));
  });

  test('the response examples in docs/API.md match their schemas', async () => {
    const api = await readFile(new URL('../../docs/API.md', import.meta.url), 'utf8');
    assert.ok(validatorFor('Event')(jsonBlockAfter(api, '## Event')));
    assert.ok(validatorFor('EventsPage')(jsonBlockAfter(api, '## GET /events')));
    assert.ok(validatorFor('Stats')(jsonBlockAfter(api, '## GET /stats')));
  });

  test('is served by the service with every route of the API', async () => {
    const server = await startServer({ shards: 1 });
    const served = await getJson(`${server.url}/openapi.json`);
    assert.equal(served.status, 200);
    assert.deepEqual(Object.keys(served.body.paths).sort(), ['/events', '/health', '/metrics', '/publish', '/stats', '/tail']);
    const stats = await getJson(`${server.url}/stats`);
    assert.ok(validatorFor('Stats')(stats.body), 'a live /stats answer matches the published schema');
  });
});
