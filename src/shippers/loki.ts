/**
 * Loki push (`POST /loki/api/v1/push`), without the socket: the JSON body or the (already
 * un-snappied) protobuf `PushRequest`, as our events. Loki entries carry no id, and Loki itself
 * only drops an entry equal to the one before it; the event_id here is a hash of the stream's
 * labels, the timestamp and the line, so an identical resend dedups permanently. Mapping
 * (docs/API.md): the stream's service, as Loki names it (loki-topic.ts) → topic, the `host` (else
 * `hostname`, `instance`) label → source, the nanosecond timestamp → timestamp, and line, labels
 * and structured metadata → payload.
 */
import { BadJsonError } from '../errors.js';
import { lokiTopic } from './loki-topic.js';
import { contentId, nanosFromText, timestampFromNanos } from './mapping.js';
import { ProtoReader, WireType } from './protobuf.js';

export interface LokiMapping {
  /** The stream labels, in order, the first present of which names the topic (loki-topic.ts). */
  readonly topicLabels: readonly string[];
}

/** The source of streams without a host label. */
const kLokiFallbackSource = 'loki';

interface LokiEntry {
  readonly labels: Readonly<Record<string, string>>;
  readonly nanos: bigint;
  readonly line: string;
  readonly metadata: Readonly<Record<string, string>> | null;
}

export function lokiEventsFromJson(text: string, mapping: LokiMapping, receivedAt: Date): Record<string, unknown>[] {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (error) {
    throw new BadJsonError(`the body is not valid JSON: ${(error as Error).message}`);
  }
  const streams = isObject(request) ? request.streams : undefined;
  if (!Array.isArray(streams)) throw new BadJsonError('expected {"streams":[{"stream":{labels},"values":[["<unix ns>","line"]]}]}');
  const events: Record<string, unknown>[] = [];
  streams.forEach((stream: unknown, index) => {
    if (!isObject(stream) || !Array.isArray(stream.values)) throw new BadJsonError(`streams[${index}] needs "stream" and "values"`);
    const labels = stringMap(stream.stream ?? {}, `streams[${index}].stream`);
    stream.values.forEach((value: unknown, position) => {
      const where = `streams[${index}].values[${position}]`;
      if (!Array.isArray(value) || value.length < 2 || value.length > 3 || typeof value[1] !== 'string') throw new BadJsonError(`${where} must be ["<unix ns>", "line"] or ["<unix ns>", "line", {metadata}]`);
      // Loki's own decoder takes the timestamp only as a string.
      const nanos = typeof value[0] === 'string' ? nanosFromText(value[0]) : null;
      if (nanos === null) throw new BadJsonError(`${where}: the timestamp must be unix nanoseconds as a string`);
      const metadata = value.length === 3 ? stringMap(value[2], `${where}[2]`) : null;
      events.push(lokiEvent({ labels, nanos, line: value[1], metadata }, mapping, receivedAt));
    });
  });
  return events;
}

/** `PushRequest` (Loki's push.proto): streams of `{labels: "{k=\"v\"}", entries: [{timestamp, line, structuredMetadata}]}`. */
export function lokiEventsFromProtobuf(body: Uint8Array, mapping: LokiMapping, receivedAt: Date): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  const request = new ProtoReader(body);
  while (request.next()) {
    if (request.field !== 1 || request.wireType !== WireType.Bytes) {
      request.skip();
      continue;
    }
    const stream = request.message();
    let labels: Record<string, string> = {};
    const entries: ProtoReader[] = [];
    while (stream.next()) {
      if (stream.field === 1 && stream.wireType === WireType.Bytes) labels = parseLabels(stream.string());
      else if (stream.field === 2 && stream.wireType === WireType.Bytes) entries.push(stream.message());
      else stream.skip();
    }
    for (const entry of entries) events.push(lokiEvent(protobufEntry(entry, labels), mapping, receivedAt));
  }
  return events;
}

function protobufEntry(entry: ProtoReader, labels: Readonly<Record<string, string>>): LokiEntry {
  let nanos = 0n;
  let line = '';
  const metadata: [string, string][] = [];
  while (entry.next()) {
    if (entry.wireType !== WireType.Bytes) entry.skip();
    else if (entry.field === 1) nanos = protobufTimestamp(entry.message());
    else if (entry.field === 2) line = entry.string();
    else if (entry.field === 3) metadata.push(labelPair(entry.message()));
    else entry.skip();
  }
  return { labels, nanos, line, metadata: metadata.length > 0 ? Object.fromEntries(metadata) : null };
}

/** google.protobuf.Timestamp: seconds (int64) and nanos (int32). */
function protobufTimestamp(reader: ProtoReader): bigint {
  let seconds = 0n;
  let nanos = 0n;
  while (reader.next()) {
    if (reader.field === 1 && reader.wireType === WireType.Varint) seconds = reader.int64();
    else if (reader.field === 2 && reader.wireType === WireType.Varint) nanos = BigInt.asIntN(32, reader.int64());
    else reader.skip();
  }
  return seconds * 1_000_000_000n + nanos;
}

function labelPair(reader: ProtoReader): [string, string] {
  let name = '';
  let value = '';
  while (reader.next()) {
    if (reader.field === 1 && reader.wireType === WireType.Bytes) name = reader.string();
    else if (reader.field === 2 && reader.wireType === WireType.Bytes) value = reader.string();
    else reader.skip();
  }
  return [name, value];
}

function lokiEvent(entry: LokiEntry, mapping: LokiMapping, receivedAt: Date): Record<string, unknown> {
  const { labels, nanos, line, metadata } = entry;
  const topic = lokiTopic(labels, mapping.topicLabels);
  const host = labels.host ?? labels.hostname ?? labels.instance;
  const source = host !== undefined && host.length > 0 ? host.slice(0, 128) : kLokiFallbackSource;
  const canonicalLabels = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const payload: Record<string, unknown> = { line, labels, timestamp_ns: nanos.toString() };
  if (metadata) payload.structured_metadata = metadata;
  return {
    topic,
    event_id: contentId(canonicalLabels, nanos.toString(), line),
    timestamp: timestampFromNanos(nanos) ?? receivedAt.toISOString(),
    source,
    payload,
  };
}

/**
 * A Prometheus label set as Loki's protobuf carries it: `{job="api", level="info"}`, values
 * double-quoted with Go escapes. Anything else is the request's 400.
 */
export function parseLabels(text: string): Record<string, string> {
  const malformed = () => new BadJsonError(`stream labels ${JSON.stringify(text)} are not {name="value", ...}`);
  const body = text.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) throw malformed();
  const inner = body.slice(1, -1).trim();
  const pair = /\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
  const entries: [string, string][] = [];
  while (pair.lastIndex < inner.length) {
    const match = pair.exec(inner);
    if (match === null) throw malformed();
    entries.push([match[1]!, unescape(match[2]!)]);
  }
  return Object.fromEntries(entries);
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped));
}

function stringMap(value: unknown, where: string): Record<string, string> {
  if (!isObject(value)) throw new BadJsonError(`${where} must be an object of strings`);
  for (const item of Object.values(value)) if (typeof item !== 'string') throw new BadJsonError(`${where} must be an object of strings`);
  return value as Record<string, string>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
