import { isUtf8 } from 'node:buffer';
import { Unpackr } from 'msgpackr';
import { BadJsonError, UnsupportedMediaTypeError } from '../errors.js';

export type BodyFormat = 'json' | 'ndjson' | 'msgpack';

const formatsByMediaType: Readonly<Record<string, BodyFormat>> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/msgpack': 'msgpack',
  'application/x-msgpack': 'msgpack',
  'application/vnd.msgpack': 'msgpack',
};

// Request bodies are untrusted: plain maps to objects, no records, no extension magic.
const bodyUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', moreTypes: false });

/** Maps a Content-Type header to a body format. A missing header is read as JSON, as curl users expect. */
export function bodyFormat(contentType: string): BodyFormat {
  if (contentType === '') return 'json';
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  const format = formatsByMediaType[mediaType];
  if (!format) throw new UnsupportedMediaTypeError(contentType);
  return format;
}

/** Parses a body into its events: one event becomes a list of one. Throws BadJsonError. */
export function decodeBody(body: Buffer, format: BodyFormat): unknown[] {
  if (format === 'msgpack') return asList(decodeMsgpack(body));
  if (!isUtf8(body)) throw new BadJsonError('body is not valid UTF-8');
  const text = body.toString('utf8');
  if (format === 'json') return asList(parseJson(text, 'body'));
  return decodeNdjson(text);
}

function decodeNdjson(text: string): unknown[] {
  const events: unknown[] = [];
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const trimmed = raw.trim();
    if (trimmed !== '') events.push(parseJson(trimmed, `line ${line}`));
  }
  return events;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadJsonError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

function decodeMsgpack(body: Buffer): unknown {
  try {
    return bodyUnpackr.unpack(body);
  } catch (error) {
    throw new BadJsonError(`body is not valid msgpack: ${(error as Error).message}`);
  }
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}
