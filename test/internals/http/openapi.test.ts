import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { openApiDocument } from '../../../src/http/openapi.js';
import { schemaValidator } from '../../support/openapi.js';
import { routeTable, type RouteHandlers } from '../../../src/http/routes.js';

// The document describes the table; the handlers are never called here.
const document = JSON.parse(openApiDocument(routeTable({ uploads: { route: () => () => undefined }, elasticsearch: {} } as unknown as RouteHandlers, { maxBatch: 10_000, maxBodyBytes: 16 << 20 }), { version: '1.2.3' }));

const validatorFor = (schemaName: string) => schemaValidator(document, schemaName);

/** Every JSON body sent to /publish with curl -d '…' in the README (the shipper examples send other protocols). */
function curlBodies(markdown: string): unknown[] {
  return [...markdown.matchAll(/curl [^\n]*\/publish[^\n]* -d '([^']+)'/g)].map((match) => JSON.parse(match[1]!));
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
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const bodies = curlBodies(readme);
    assert.ok(bodies.length >= 2, 'the README has curl examples');
    for (const body of bodies) for (const item of Array.isArray(body) ? body : [body]) assert.ok(isEvent(item), JSON.stringify(item));
    assert.ok(!isEvent({ ...(bodies[0] as object), extra: 1 }), 'unknown fields are refused by the published schema too');
    assert.ok(!isEvent({ ...(bodies[0] as object), timestamp: '2025-10-22T10:30:00' }));
  });

  test('the response examples in docs/API.md match their schemas', async () => {
    const api = await readFile(new URL('../../../docs/API.md', import.meta.url), 'utf8');
    assert.ok(validatorFor('Event')(jsonBlockAfter(api, '## Event')));
    assert.ok(validatorFor('EventsPage')(jsonBlockAfter(api, '## GET /events')));
    assert.ok(validatorFor('Stats')(jsonBlockAfter(api, '## GET /stats')));
  });

});
