/**
 * `ExportLogsServiceRequest` in the OTLP JSON encoding: lowerCamelCase names, 64-bit integers as
 * decimal strings (numbers accepted too), trace and span ids as hex, bytes values as base64.
 * Unknown fields are ignored; a field of the wrong shape is the request's 400.
 */
import { BadJsonError } from '../errors.js';
import { nanosFromText } from './mapping.js';
import { int64Value, kMaxValueDepth, type Attributes, type LogRecordView, type ScopeView } from './otlp-view.js';

type Json = Record<string, unknown>;

const severityNames: ReadonlyMap<string, number> = new Map(
  ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'].flatMap((level, group) =>
    [1, 2, 3, 4].map((step) => [`SEVERITY_NUMBER_${level}${step === 1 ? '' : step}`, group * 4 + step] as const),
  ),
);

export function decodeOtlpJson(text: string): LogRecordView[] {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (error) {
    throw new BadJsonError(`the body is not valid JSON: ${(error as Error).message}`);
  }
  const records: LogRecordView[] = [];
  for (const resourceLogs of list(object(request, 'the request'), 'resourceLogs')) {
    const entry = object(resourceLogs, 'resourceLogs[]');
    const resource = attributes(entry.resource === undefined ? {} : object(entry.resource, 'resource'), 0);
    for (const scopeLogs of list(entry, 'scopeLogs')) {
      const scopeEntry = object(scopeLogs, 'scopeLogs[]');
      const scope = scopeOf(scopeEntry.scope);
      for (const record of list(scopeEntry, 'logRecords')) records.push(logRecord(object(record, 'logRecords[]'), resource, scope));
    }
  }
  return records;
}

function scopeOf(value: unknown): ScopeView {
  if (value === undefined) return { name: '', version: '', attributes: {} };
  const scope = object(value, 'scope');
  return { name: text(scope.name, 'scope.name'), version: text(scope.version, 'scope.version'), attributes: attributes(scope, 0) };
}

function logRecord(record: Json, resource: Attributes, scope: ScopeView): LogRecordView {
  return {
    resource,
    scope,
    timeUnixNano: nanos(record.timeUnixNano, 'timeUnixNano'),
    observedTimeUnixNano: nanos(record.observedTimeUnixNano, 'observedTimeUnixNano'),
    severityNumber: severity(record.severityNumber),
    severityText: text(record.severityText, 'severityText'),
    body: record.body === undefined ? undefined : anyValue(record.body, 0),
    attributes: attributes(record, 0),
    droppedAttributesCount: count(record.droppedAttributesCount, 'droppedAttributesCount'),
    flags: count(record.flags, 'flags'),
    traceId: hex(record.traceId, 'traceId'),
    spanId: hex(record.spanId, 'spanId'),
    eventName: text(record.eventName, 'eventName'),
  };
}

function attributes(owner: Json, depth: number): Attributes {
  return Object.fromEntries(list(owner, 'attributes').map((entry) => keyValue(entry, depth)));
}

function keyValue(value: unknown, depth: number): [string, unknown] {
  const entry = object(value, 'a key-value');
  return [text(entry.key, 'key'), entry.value === undefined ? null : anyValue(entry.value, depth + 1)];
}

function anyValue(value: unknown, depth: number): unknown {
  if (depth > kMaxValueDepth) throw new BadJsonError(`values nest deeper than ${kMaxValueDepth}`);
  const any = object(value, 'an AnyValue');
  if ('stringValue' in any) return text(any.stringValue, 'stringValue');
  if ('boolValue' in any) return any.boolValue === true;
  if ('intValue' in any) {
    const integer = typeof any.intValue === 'string' && /^-?\d{1,20}$/.test(any.intValue) ? BigInt(any.intValue) : Number.isSafeInteger(any.intValue) ? BigInt(any.intValue as number) : null;
    if (integer === null) throw new BadJsonError('intValue is not an integer');
    return int64Value(BigInt.asIntN(64, integer));
  }
  if ('doubleValue' in any) {
    if (typeof any.doubleValue === 'number' || typeof any.doubleValue === 'string') return any.doubleValue;
    throw new BadJsonError('doubleValue is not a number');
  }
  if ('arrayValue' in any) return list(object(any.arrayValue, 'arrayValue'), 'values').map((item) => anyValue(item, depth + 1));
  if ('kvlistValue' in any) return Object.fromEntries(list(object(any.kvlistValue, 'kvlistValue'), 'values').map((entry) => keyValue(entry, depth + 1)));
  if ('bytesValue' in any) return text(any.bytesValue, 'bytesValue');
  return null;
}

function object(value: unknown, what: string): Json {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
  throw new BadJsonError(`${what} must be a JSON object`);
}

/** A repeated field: absent is empty. */
function list(owner: Json, field: string): unknown[] {
  const value = owner[field];
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  throw new BadJsonError(`${field} must be an array`);
}

function text(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  throw new BadJsonError(`${field} must be a string`);
}

function nanos(value: unknown, field: string): bigint {
  if (value === undefined || value === null) return 0n;
  const parsed = nanosFromText(value);
  if (parsed === null) throw new BadJsonError(`${field} must be unix nanoseconds, as a decimal string`);
  return parsed;
}

function count(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
  throw new BadJsonError(`${field} must be a non-negative integer`);
}

function severity(value: unknown): number {
  if (typeof value === 'string') {
    const known = severityNames.get(value);
    if (known !== undefined) return known;
    if (value === 'SEVERITY_NUMBER_UNSPECIFIED') return 0;
  }
  return count(value, 'severityNumber');
}

function hex(value: unknown, field: string): string {
  const id = text(value, field);
  if (/^([0-9a-fA-F]{2})*$/.test(id)) return id.toLowerCase();
  throw new BadJsonError(`${field} must be hex`);
}
