import { decodeRecords, encodeRecord } from '../../src/ring/codec.js';
import type { MicroTask } from '../lib/micro.js';
import { eventBatch, kBatchSize } from './batch.js';

const kFirstSeq = 1_000_000;

/**
 * The ring codec on a 1000-event batch: encodeRecord per event (what ingress does to build the
 * frames) and decodeRecords of the whole frame body (what a shard thread does), each next to plain
 * JSON.stringify / JSON.parse of the same records, as msgpackr's own benchmarks compare.
 */
export function codecTasks(): MicroTask[] {
  const batch = eventBatch();
  const records = batch.map((event, index) => [kFirstSeq + index, event.topic, event.event_id, event.timestamp, event.source, event.payload]);
  // encodeRecord's bytes live in msgpackr's reused buffer: copy them to build a stable frame body.
  const body = Buffer.concat(batch.map((event, index) => Buffer.from(encodeRecord(kFirstSeq + index, event))));
  const json = JSON.stringify(records);
  const jsonBytes = Buffer.byteLength(json);
  const decoded = decodeRecords(body);
  if (decoded.length !== kBatchSize || JSON.stringify(decoded) !== json) throw new Error('msgpack round trip of the micro batch changed it');
  const chunks = new Array<Uint8Array>(kBatchSize);
  return [
    {
      name: 'msgpack-encode',
      op: `encodeRecord × ${kBatchSize} (one frame's records, kept as chunks as ingress does)`,
      eventsPerOp: kBatchSize,
      bytesPerOp: body.length,
      fn: () => {
        let length = 0;
        for (let index = 0; index < kBatchSize; index++) {
          const record = encodeRecord(kFirstSeq + index, batch[index]!);
          chunks[index] = record;
          length += record.length;
        }
        return length;
      },
    },
    {
      name: 'json-stringify',
      op: `JSON.stringify of the same ${kBatchSize} records (baseline)`,
      eventsPerOp: kBatchSize,
      bytesPerOp: jsonBytes,
      fn: () => JSON.stringify(records),
    },
    {
      name: 'msgpack-decode',
      op: `decodeRecords of the ${body.length}-byte frame body`,
      eventsPerOp: kBatchSize,
      bytesPerOp: body.length,
      fn: () => decodeRecords(body),
    },
    {
      name: 'json-parse',
      op: `JSON.parse of the same records as JSON, ${jsonBytes} bytes (baseline)`,
      eventsPerOp: kBatchSize,
      bytesPerOp: jsonBytes,
      fn: () => JSON.parse(json) as unknown,
    },
  ];
}
