/**
 * OTLP/HTTP logs (`POST /v1/logs`), without the socket: a decoded request's records as our events,
 * and the `ExportLogsServiceResponse` in the request's encoding. Mapping (docs/API.md): a resource
 * attribute (default `service.name`) → topic, the `log.record.uid` attribute → event_id (absent: a
 * hash of topic and record, so an identical resend dedups), `timeUnixNano` (else
 * `observedTimeUnixNano`, else the receive time) → timestamp, `service.name` → source, and body,
 * attributes, resource, scope, severity and trace context → payload.
 */
import { contentId, timestampFromNanos, topicFrom } from './mapping.js';
import type { LogRecordView } from './otlp-view.js';
import { ProtoWriter } from './protobuf.js';

export interface OtlpMapping {
  /** The resource attribute whose value names the topic. */
  readonly topicAttribute: string;
}

/** The topic and source of records whose resource has no usable name. */
export const kOtlpFallbackName = 'otlp';
const kRecordUid = 'log.record.uid';
const kServiceName = 'service.name';

export function otlpEvent(record: LogRecordView, mapping: OtlpMapping, receivedAt: Date): Record<string, unknown> {
  const named = record.resource[mapping.topicAttribute];
  const topic = (typeof named === 'string' && topicFrom(named)) || kOtlpFallbackName;
  const service = record.resource[kServiceName];
  const source = typeof service === 'string' && service.length > 0 ? service.slice(0, 128) : kOtlpFallbackName;
  const payload = payloadOf(record);
  const uid = record.attributes[kRecordUid];
  const eventId = typeof uid === 'string' && uid.length > 0 ? uid : contentId(topic, JSON.stringify(payload));
  const timestamp = timestampFromNanos(record.timeUnixNano) ?? timestampFromNanos(record.observedTimeUnixNano) ?? receivedAt.toISOString();
  return { topic, event_id: eventId, timestamp, source, payload };
}

/** Only what the record carries: an unset OTLP field (0, '') is left out, not stored as a default. */
function payloadOf(record: LogRecordView): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  if (record.body !== undefined) payload.body = record.body;
  if (record.severityText !== '') payload.severity_text = record.severityText;
  if (record.severityNumber !== 0) payload.severity_number = record.severityNumber;
  if (record.eventName !== '') payload.event_name = record.eventName;
  payload.attributes = record.attributes;
  payload.resource = record.resource;
  const { name, version, attributes } = record.scope;
  if (name !== '' || version !== '' || Object.keys(attributes).length > 0) payload.scope = { name, version, ...(Object.keys(attributes).length > 0 ? { attributes } : {}) };
  if (record.traceId !== '') payload.trace_id = record.traceId;
  if (record.spanId !== '') payload.span_id = record.spanId;
  if (record.flags !== 0) payload.flags = record.flags;
  if (record.timeUnixNano !== 0n) payload.time_unix_nano = record.timeUnixNano.toString();
  if (record.observedTimeUnixNano !== 0n) payload.observed_time_unix_nano = record.observedTimeUnixNano.toString();
  if (record.droppedAttributesCount !== 0) payload.dropped_attributes_count = record.droppedAttributesCount;
  return payload;
}

export type OtlpEncoding = 'protobuf' | 'json';

/**
 * The answer: empty on full success (the spec leaves `partial_success` unset), else the number of
 * records refused and why. Duplicates are not refused: they are stored already, which is success.
 */
export function exportLogsResponse(encoding: OtlpEncoding, rejected: number, errorMessage: string): Buffer | string {
  if (encoding === 'json') {
    return rejected === 0 ? '{}' : JSON.stringify({ partialSuccess: { rejectedLogRecords: String(rejected), errorMessage } });
  }
  if (rejected === 0) return Buffer.alloc(0);
  const partialSuccess = new ProtoWriter().varint(1, rejected).string(2, errorMessage).finish();
  return new ProtoWriter().bytes(1, partialSuccess).finish();
}
