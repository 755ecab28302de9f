import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AggregatorError } from '../../../src/errors.js';
import { ElasticsearchHandlers, elasticProductHeaders, type ElasticsearchSources } from '../../../src/http/elasticsearch-handlers.js';
import { Reply } from '../../../src/http/reply.js';
import type { UploadRequest } from '../../../src/http/upload.js';
import type { IngestPipeline, ItemOutcome } from '../../../src/ingest/pipeline.js';
import { FakeResponse } from './fake-uws.js';

/** The pipeline's one method the handlers call: records what it was given, answers with `outcomes`. */
class FakePipeline {
  readonly calls: { events: Record<string, unknown>[]; protocol: string }[] = [];
  outcomes: ItemOutcome[] = [];

  ingestItems(candidates: readonly unknown[], protocol: string): Promise<ItemOutcome[]> {
    this.calls.push({ events: candidates as Record<string, unknown>[], protocol });
    return Promise.resolve(this.outcomes.slice(0, candidates.length));
  }
}

function handlers(problems: readonly string[] = []): { es: ElasticsearchHandlers; pipeline: FakePipeline } {
  const pipeline = new FakePipeline();
  const sources: ElasticsearchSources = { pipeline: pipeline as unknown as IngestPipeline, name: 'node-a', shards: 4, sourceField: 'host.name', problems: () => problems };
  return { es: new ElasticsearchHandlers(sources), pipeline };
}

function bulkRequest(lines: readonly unknown[], index?: string): UploadRequest {
  const body = Buffer.from(lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
  return { body, contentType: 'application/x-ndjson', query: new URLSearchParams(), parameters: index === undefined ? [] : [index] };
}

interface BulkAnswer {
  errors: boolean;
  items: Record<string, { _index: string; _id: string; status: number; result?: string; error?: { type: string } }>[];
}

function replyTo(): { res: FakeResponse; reply: Reply } {
  const res = new FakeResponse();
  return { res, reply: new Reply(res.uws, '/es', { retryAfterSeconds: 1 }, elasticProductHeaders) };
}

describe('ElasticsearchHandlers', () => {
  test('info names the node and an 8.x version, which the official clients require', () => {
    const { res, reply } = replyTo();
    handlers().es.info(reply);
    const body = res.json() as { name: string; version: { number: string } };
    assert.equal(res.status, '200 OK');
    assert.equal(body.name, 'node-a');
    assert.match(body.version.number, /^8\./);
    assert.equal(res.header('x-elastic-product'), 'Elasticsearch');
  });

  test('cluster health is green with every shard active while nothing is wrong, red with them unassigned otherwise', () => {
    const green = replyTo();
    handlers().es.clusterHealth(green.reply);
    assert.deepEqual(pick(green.res.json()), { status: 'green', active_shards: 4, unassigned_shards: 0 });
    const red = replyTo();
    handlers(['shard 2 cannot commit']).es.clusterHealth(red.reply);
    assert.deepEqual(pick(red.res.json()), { status: 'red', active_shards: 4, unassigned_shards: 4 });
  });

  test('_bulk stores the documents through the pipeline and answers each item by its verdict, in order', async () => {
    const { es, pipeline } = handlers();
    pipeline.outcomes = ['stored', 'duplicate', 'duplicate', { index: 3, path: '/topic', message: 'bad topic' }, { index: 4, path: '/payload', message: 'too deep' }];
    const answer = await es.bulk(
      bulkRequest([
        { create: { _id: '1' } },
        { message: 'a', host: { name: 'web-1' } },
        { create: { _id: '2' } },
        { message: 'b' },
        { index: { _id: '3' } },
        { message: 'c' },
        { update: { _id: '9' } }, // refused by the parser: never reaches the pipeline
        { doc: {} },
        { create: { _index: 'BAD INDEX', _id: '4' } },
        { message: 'd' },
        { create: { _id: '5' } },
        { message: 'e' },
      ], 'logs'),
    );
    assert.equal(answer.status, 200);
    assert.equal(pipeline.calls.length, 1);
    assert.equal(pipeline.calls[0]!.protocol, 'elasticsearch');
    const events = pipeline.calls[0]!.events;
    assert.deepEqual(events.map((event) => [event.topic, event.event_id]), [['logs', '1'], ['logs', '2'], ['logs', '3'], ['BAD INDEX', '4'], ['logs', '5']]);
    assert.equal(events[0]!.source, 'web-1', 'from the source field');
    assert.equal(events[1]!.source, 'logs', 'the index name without it');

    const body = JSON.parse(answer.body as string) as BulkAnswer;
    assert.equal(body.errors, true);
    const summary = body.items.map((item) => {
      const [action, result] = Object.entries(item)[0]!;
      return [action, result._id, result.status, result.error?.type ?? result.result];
    });
    assert.deepEqual(summary, [
      ['create', '1', 201, 'created'],
      ['create', '2', 409, 'version_conflict_engine_exception'],
      ['index', '3', 200, 'updated'],
      ['update', '9', 400, 'illegal_argument_exception'],
      ['create', '4', 400, 'invalid_index_name_exception'],
      ['create', '5', 400, 'mapper_parsing_exception'],
    ]);
  });

  test('every item refused before the pipeline: the pipeline is not called, and each keeps its own error', async () => {
    const { es, pipeline } = handlers();
    const answer = await es.bulk(bulkRequest([{ delete: { _index: 'logs', _id: '1' } }, { create: { _id: '2' } }, { message: 'no index' }]));
    assert.deepEqual(pipeline.calls, []);
    const body = JSON.parse(answer.body as string) as BulkAnswer;
    assert.deepEqual(body.items.map((item) => Object.values(item)[0]!.status), [400, 400]);
  });

  test('the index in the path is percent-decoded; a malformed escape stays as sent', async () => {
    const { es, pipeline } = handlers();
    pipeline.outcomes = ['stored'];
    await es.bulk(bulkRequest([{ create: { _id: '1' } }, { m: 1 }], 'app%2Dlogs'));
    await es.bulk(bulkRequest([{ create: { _id: '1' } }, { m: 1 }], 'bad%E0%A4%A'));
    assert.deepEqual(pipeline.calls.map((call) => call.events[0]!.topic), ['app-logs', 'bad%E0%A4%A']);
  });

  test('a body without any request is a 400 bad_json, as Elasticsearch answers it', async () => {
    const { es } = handlers();
    const empty: UploadRequest = { body: Buffer.from('\n\n'), contentType: 'application/x-ndjson', query: new URLSearchParams(), parameters: [] };
    await assert.rejects(es.bulk(empty), (error: unknown) => error instanceof AggregatorError && error.code === 'bad_json');
  });
});

function pick(health: unknown): Record<string, unknown> {
  const { status, active_shards, unassigned_shards } = health as Record<string, unknown>;
  return { status, active_shards, unassigned_shards };
}
