/**
 * `ExportLogsServiceRequest` in the protobuf encoding (opentelemetry-proto, logs/v1), decoded to
 * record views. Field numbers are the proto's; unknown fields are skipped, as the spec requires.
 */
import { BadJsonError } from '../errors.js';
import { ProtoReader, WireType } from './protobuf.js';
import { int64Value, kMaxValueDepth, type Attributes, type LogRecordView, type ScopeView } from './otlp-view.js';

const kNoScope: ScopeView = { name: '', version: '', attributes: {} };

export function decodeOtlpProtobuf(body: Uint8Array): LogRecordView[] {
  const records: LogRecordView[] = [];
  const request = new ProtoReader(body);
  while (request.next()) {
    if (request.field === 1) {
      request.expect(WireType.Bytes);
      resourceLogs(request.message(), records);
    } else request.skip();
  }
  return records;
}

function resourceLogs(reader: ProtoReader, records: LogRecordView[]): void {
  let resource: Attributes = {};
  const scopes: ProtoReader[] = [];
  while (reader.next()) {
    if (reader.field === 1 && reader.wireType === WireType.Bytes) resource = resourceAttributes(reader.message());
    else if (reader.field === 2 && reader.wireType === WireType.Bytes) scopes.push(reader.message());
    else reader.skip();
  }
  // The resource may follow its scopes on the wire: read it first, then the records.
  for (const scope of scopes) scopeLogs(scope, resource, records);
}

function resourceAttributes(reader: ProtoReader): Attributes {
  const entries: [string, unknown][] = [];
  while (reader.next()) {
    if (reader.field === 1 && reader.wireType === WireType.Bytes) entries.push(keyValue(reader.message(), 0));
    else reader.skip();
  }
  return Object.fromEntries(entries);
}

function scopeLogs(reader: ProtoReader, resource: Attributes, records: LogRecordView[]): void {
  let scope = kNoScope;
  const logRecords: ProtoReader[] = [];
  while (reader.next()) {
    if (reader.field === 1 && reader.wireType === WireType.Bytes) scope = instrumentationScope(reader.message());
    else if (reader.field === 2 && reader.wireType === WireType.Bytes) logRecords.push(reader.message());
    else reader.skip();
  }
  for (const record of logRecords) records.push(logRecord(record, resource, scope));
}

function instrumentationScope(reader: ProtoReader): ScopeView {
  let name = '';
  let version = '';
  const attributes: [string, unknown][] = [];
  while (reader.next()) {
    if (reader.wireType !== WireType.Bytes) reader.skip();
    else if (reader.field === 1) name = reader.string();
    else if (reader.field === 2) version = reader.string();
    else if (reader.field === 3) attributes.push(keyValue(reader.message(), 0));
    else reader.skip();
  }
  return { name, version, attributes: Object.fromEntries(attributes) };
}

function logRecord(reader: ProtoReader, resource: Attributes, scope: ScopeView): LogRecordView {
  let timeUnixNano = 0n;
  let observedTimeUnixNano = 0n;
  let severityNumber = 0;
  let severityText = '';
  let body: unknown;
  const attributes: [string, unknown][] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  let traceId = '';
  let spanId = '';
  let eventName = '';
  while (reader.next()) {
    const { field, wireType } = reader;
    if (field === 1 && wireType === WireType.Fixed64) timeUnixNano = reader.fixed64();
    else if (field === 11 && wireType === WireType.Fixed64) observedTimeUnixNano = reader.fixed64();
    else if (field === 2 && wireType === WireType.Varint) severityNumber = reader.uint();
    else if (field === 3 && wireType === WireType.Bytes) severityText = reader.string();
    else if (field === 5 && wireType === WireType.Bytes) body = anyValue(reader.message(), 0);
    else if (field === 6 && wireType === WireType.Bytes) attributes.push(keyValue(reader.message(), 0));
    else if (field === 7 && wireType === WireType.Varint) droppedAttributesCount = reader.uint();
    else if (field === 8 && wireType === WireType.Fixed32) flags = reader.fixed32();
    else if (field === 9 && wireType === WireType.Bytes) traceId = Buffer.from(reader.bytes()).toString('hex');
    else if (field === 10 && wireType === WireType.Bytes) spanId = Buffer.from(reader.bytes()).toString('hex');
    else if (field === 12 && wireType === WireType.Bytes) eventName = reader.string();
    else reader.skip();
  }
  return { resource, scope, timeUnixNano, observedTimeUnixNano, severityNumber, severityText, body, attributes: Object.fromEntries(attributes), droppedAttributesCount, flags, traceId, spanId, eventName };
}

function keyValue(reader: ProtoReader, depth: number): [string, unknown] {
  let key = '';
  let value: unknown = null;
  while (reader.next()) {
    if (reader.field === 1 && reader.wireType === WireType.Bytes) key = reader.string();
    else if (reader.field === 2 && reader.wireType === WireType.Bytes) value = anyValue(reader.message(), depth + 1);
    else reader.skip();
  }
  return [key, value];
}

/** AnyValue: a oneof; an empty one (no field set) is null. */
function anyValue(reader: ProtoReader, depth: number): unknown {
  if (depth > kMaxValueDepth) throw new BadJsonError(`protobuf: values nest deeper than ${kMaxValueDepth}`);
  let value: unknown = null;
  while (reader.next()) {
    const { field, wireType } = reader;
    if (field === 1 && wireType === WireType.Bytes) value = reader.string();
    else if (field === 2 && wireType === WireType.Varint) value = reader.bool();
    else if (field === 3 && wireType === WireType.Varint) value = int64Value(reader.int64());
    else if (field === 4 && wireType === WireType.Fixed64) value = finite(reader.double());
    else if (field === 5 && wireType === WireType.Bytes) value = repeatedValues(reader.message(), depth);
    else if (field === 6 && wireType === WireType.Bytes) value = keyValueList(reader.message(), depth);
    else if (field === 7 && wireType === WireType.Bytes) value = Buffer.from(reader.bytes()).toString('base64');
    else reader.skip();
  }
  return value;
}

function repeatedValues(reader: ProtoReader, depth: number): unknown[] {
  const values: unknown[] = [];
  while (reader.next()) {
    if (reader.field === 1 && reader.wireType === WireType.Bytes) values.push(anyValue(reader.message(), depth + 1));
    else reader.skip();
  }
  return values;
}

function keyValueList(reader: ProtoReader, depth: number): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  while (reader.next()) {
    if (reader.field === 1 && reader.wireType === WireType.Bytes) entries.push(keyValue(reader.message(), depth + 1));
    else reader.skip();
  }
  return Object.fromEntries(entries);
}

/** JSON has no NaN or Infinity: they travel as strings, as in the OTLP JSON mapping. */
function finite(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}
