/**
 * OTLP/HTTP logs at /v1/logs, driven by the OpenTelemetry JS SDK and its own exporters
 * (@opentelemetry/exporter-logs-otlp-http for JSON, -proto for protobuf, each also with gzip), and
 * by hand-made bodies for what an exporter never sends.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { allEvents, startServer, stats, type TestServer } from './helper.js';

type Exporter = LogRecordExporter;
type ExporterKind = 'json' | 'protobuf';

function exporterFor(server: TestServer, kind: ExporterKind, compression: 'none' | 'gzip' = 'none'): Exporter {
  const options = { url: `${server.url}/v1/logs`, timeoutMillis: 30_000, compression: compression as never };
  return kind === 'json' ? new JsonExporter(options) : new ProtoExporter(options);
}

/** Records as the SDK builds them, captured before export, so the same ones can be exported twice (a retry whose answer was lost). */
async function sdkRecords(service: string, count: number, attributes: (index: number) => Record<string, string | number> = () => ({})): Promise<ReadableLogRecord[]> {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service }), processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
  const logger = provider.getLogger('checkout-scope', '1.2.3');
  for (let index = 0; index < count; index++) {
    logger.emit({ body: `order ${index} placed`, severityText: 'INFO', severityNumber: 9, timestamp: 1_761_129_000_000 + index, attributes: { 'order.id': index, ...attributes(index) } });
  }
  await provider.forceFlush();
  const records = memory.getFinishedLogRecords();
  await provider.shutdown();
  return records;
}

function exportOnce(exporter: Exporter, records: ReadableLogRecord[]): Promise<number> {
  return new Promise((resolve) => exporter.export(records, (result) => resolve(result.code)));
}

const kSuccess = 0;

describe('OTLP/HTTP logs', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  for (const [kind, compression] of [['json', 'none'], ['protobuf', 'none'], ['json', 'gzip'], ['protobuf', 'gzip']] as const) {
    test(`the ${kind} exporter (${compression}): log.record.uid is the event_id, a resent export stores nothing new`, async () => {
      const topic = `otlp-${kind}-${compression}`;
      const records = await sdkRecords(topic, 50, (index) => ({ 'log.record.uid': `uid-${index}` }));
      const exporter = exporterFor(server, kind, compression);
      const before = await stats(server.url);
      assert.equal(await exportOnce(exporter, records), kSuccess);
      assert.equal(await exportOnce(exporter, records), kSuccess);
      const after = await stats(server.url);
      assert.equal(after.unique_processed - before.unique_processed, 50);
      assert.equal(after.duplicate_dropped - before.duplicate_dropped, 50);
      assert.equal(after.protocols.otlp.received - before.protocols.otlp.received, 100);
      const stored = await allEvents(server.url, topic);
      assert.deepEqual(
        stored.map((item) => item.event_id),
        Array.from({ length: 50 }, (_, index) => `uid-${index}`),
      );
      const first = stored[0];
      assert.equal(first.source, topic);
      assert.equal(first.timestamp, '2025-10-22T10:30:00.000000000Z');
      assert.equal(first.payload.body, 'order 0 placed');
      assert.equal(first.payload.severity_text, 'INFO');
      assert.equal(first.payload.severity_number, 9);
      assert.deepEqual(first.payload.attributes, { 'order.id': 0, 'log.record.uid': 'uid-0' });
      assert.equal(first.payload.resource['service.name'], topic);
      assert.deepEqual(first.payload.scope, { name: 'checkout-scope', version: '1.2.3' });
      await exporter.shutdown();
    });
  }

  test('records without log.record.uid: the same record from either encoding has the same hashed id', async () => {
    const records = await sdkRecords('hashed', 20);
    const json = exporterFor(server, 'json');
    const proto = exporterFor(server, 'protobuf');
    const before = await stats(server.url);
    assert.equal(await exportOnce(json, records), kSuccess);
    assert.equal(await exportOnce(proto, records), kSuccess);
    const after = await stats(server.url);
    assert.equal(after.unique_processed - before.unique_processed, 20);
    assert.equal(after.duplicate_dropped - before.duplicate_dropped, 20);
    const stored = await allEvents(server.url, 'hashed');
    assert.equal(new Set(stored.map((item) => item.event_id)).size, 20);
    assert.ok(stored.every((item) => /^h-[A-Za-z0-9_-]{32}$/.test(item.event_id)));
    await Promise.all([json.shutdown(), proto.shutdown()]);
  });

  test('a record that cannot be stored is counted in partialSuccess; the others are kept', async () => {
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'unknown_service:node' } }] },
          scopeLogs: [
            {
              logRecords: [
                { timeUnixNano: '1761129000000000000', body: { stringValue: 'kept' }, attributes: [{ key: 'log.record.uid', value: { stringValue: 'ok-1' } }] },
                { timeUnixNano: 1761129000000000000, body: { stringValue: 'id too long' }, attributes: [{ key: 'log.record.uid', value: { stringValue: 'x'.repeat(200) } }] },
                { observedTimeUnixNano: '1761129000000000001', body: { kvlistValue: { values: [{ key: 'n', value: { intValue: '9007199254740993' } }] } }, attributes: [{ key: 'log.record.uid', value: { stringValue: 'ok-2' } }] },
              ],
            },
          ],
        },
      ],
    };
    const answer = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(answer.status, 200);
    const json = (await answer.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    assert.equal(json.partialSuccess.rejectedLogRecords, '1');
    assert.match(json.partialSuccess.errorMessage, /record 1/);
    // A service name outside the topic alphabet is made into one, not refused.
    const stored = await allEvents(server.url, 'unknown_service_node');
    assert.deepEqual(stored.map((item) => item.event_id), ['ok-1', 'ok-2']);
    assert.equal(stored[1].timestamp, '2025-10-22T10:30:00.000000001Z', 'observedTimeUnixNano when timeUnixNano is unset');
    assert.deepEqual(stored[1].payload.body, { n: '9007199254740993' }, 'an int64 past 2^53 stays exact, as a string');
  });

  test('bodies an exporter never sends: each a clear 4xx, nothing stored, the server healthy', async () => {
    const before = await stats(server.url);
    const post = (body: Buffer | string, contentType: string, encoding?: string) =>
      fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': contentType, ...(encoding ? { 'content-encoding': encoding } : {}) }, body });
    const cases: [Promise<Response>, number, string][] = [
      [post('{}', 'text/plain'), 415, 'unsupported_media_type'],
      [post('{"resourceLogs": 3}', 'application/json'), 400, 'bad_json'],
      [post('not json', 'application/json'), 400, 'bad_json'],
      // A length-delimited field that claims 100 bytes and has 2.
      [post(Buffer.from([0x0a, 0x64, 0x01, 0x02]), 'application/x-protobuf'), 400, 'bad_json'],
      // A gzip stream cut in half.
      [post(gzipSync(Buffer.alloc(1000, 1)).subarray(0, 20), 'application/x-protobuf', 'gzip'), 400, 'bad_encoding'],
      [post(Buffer.from('plain text'), 'application/json', 'gzip'), 400, 'bad_encoding'],
    ];
    for (const [answer, status, code] of cases) {
      const reply = await answer;
      assert.equal(reply.status, status);
      assert.equal(((await reply.json()) as { error: { code: string } }).error.code, code);
    }
    const empty = await post(Buffer.alloc(0), 'application/x-protobuf');
    assert.equal(empty.status, 200, 'an empty request is an empty export');
    assert.equal((await empty.arrayBuffer()).byteLength, 0);
    assert.equal((await stats(server.url)).received, before.received);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });
});

describe('OTLP/HTTP logs under backpressure', () => {
  test("a burst into a tiny ring: the exporters' retries on 503 + Retry-After lose nothing", async () => {
    const server = await startServer({ shards: 2, args: ['--ring-bytes', '65536', '--retry-after', '1'] });
    try {
      let overloaded = 0;
      let exported = 0;
      for (let round = 0; round < 10 && overloaded === 0; round++) {
        const codes = await Promise.all(
          Array.from({ length: 30 }, async (_, client) => {
            const records = await sdkRecords('burst', 60, (index) => ({ 'log.record.uid': `r${round}-c${client}-${index}`, pad: 'p'.repeat(100) }));
            const exporter = exporterFor(server, client % 2 === 0 ? 'json' : 'protobuf');
            const code = await exportOnce(exporter, records);
            await exporter.shutdown();
            return code;
          }),
        );
        assert.deepEqual(codes, codes.map(() => kSuccess), 'every export succeeded in the end');
        exported += codes.length * 60;
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        overloaded = Number(/aggregator_http_requests_total\{route="otlp",status="503"\} (\d+)/.exec(metrics)?.[1] ?? 0);
      }
      assert.ok(overloaded > 0, 'the burst never met a full ring: the test proved nothing');
      const final = await stats(server.url);
      assert.equal(final.unique_processed, exported);
      assert.equal((await allEvents(server.url, 'burst')).length, exported);
    } finally {
      await server.stop();
    }
  });
});

// The batch processor, as an application would use it: emit, then flush.
test('a LoggerProvider with the batch processor ships to /v1/logs', async () => {
  const server = await startServer();
  try {
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'app' }), processors: [new BatchLogRecordProcessor({ exporter: exporterFor(server, 'protobuf') })] });
    const logger = provider.getLogger('app');
    for (let index = 0; index < 25; index++) logger.emit({ body: { message: `hello ${index}`, level: 'info' } });
    await provider.forceFlush();
    await provider.shutdown();
    const stored = await allEvents(server.url, 'app');
    assert.equal(stored.length, 25);
    assert.deepEqual(stored[3].payload.body, { message: 'hello 3', level: 'info' });
  } finally {
    await server.stop();
  }
});
