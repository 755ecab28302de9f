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
// The same, but maps come back as Map: for the rare body with a `__proto__` key, which the object
// mode renames to `__proto_` (msgpackr's guard against prototype pollution) and so would change.
const mapUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'number', moreTypes: false });
const kProtoKey = Buffer.from('__proto__');

/** Maps a Content-Type header to a body format. A missing header is read as JSON, as curl users expect. */
export function bodyFormat(contentType: string): BodyFormat {
  if (contentType === '') return 'json';
  const format = formatsByMediaType[mediaTypeOf(contentType)];
  if (!format) throw new UnsupportedMediaTypeError(contentType);
  return format;
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaTypeOf(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

/** A body that must be UTF-8 text (JSON, NDJSON), as a string; else the request's 400. */
export function textOf(body: Buffer): string {
  if (!isUtf8(body)) throw new BadJsonError('body is not valid UTF-8');
  return body.toString('utf8');
}

/** Parses a body into its events: one event becomes a list of one. Throws BadJsonError. */
export function decodeBody(body: Buffer, format: BodyFormat): unknown[] {
  if (format === 'msgpack') return asList(decodeMsgpack(body));
  const text = textOf(body);
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

/** JSON text, or a 400 `bad_json` naming where it came from. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadJsonError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
}

function decodeMsgpack(body: Buffer): unknown {
  // msgpackr replaces invalid UTF-8 with U+FFFD without a word; a JSON body with it is a 400, so is this.
  const hasProtoKey = scanMsgpackStrings(body);
  try {
    return hasProtoKey ? mapsToObjects(mapUnpackr.unpack(body)) : bodyUnpackr.unpack(body);
  } catch (error) {
    if (error instanceof BadJsonError) throw error;
    throw new BadJsonError(`body is not valid msgpack: ${(error as Error).message}`);
  }
}

/**
 * Walks a msgpack body token by token and checks that every string is valid UTF-8 (and that the
 * never-used byte 0xc1, which msgpackr decodes to an object of its own, is absent). Containers are
 * only headers in msgpack, so the walk is a flat loop, however deep the value. Returns whether a
 * string `__proto__` occurs (as a key, or a value: either way the careful decode is correct).
 * Truncated bodies are left for the decoder to report.
 */
function scanMsgpackStrings(body: Buffer): boolean {
  const end = body.length;
  let position = 0;
  let hasProtoKey = false;
  while (position < end) {
    const token = body[position++]!;
    let length: number;
    if (token < 0xa0 || token >= 0xe0) continue; // fixint, fixmap, fixarray, negative fixint
    if (token < 0xc0) length = token & 0x1f; // fixstr
    else if (position + 4 > end && token >= 0xc4) break; // a truncated header: the decoder says so
    else {
      switch (token) {
        case 0xd9: length = body[position]!; position += 1; break; // str 8
        case 0xda: length = body.readUInt16BE(position); position += 2; break; // str 16
        case 0xdb: length = body.readUInt32BE(position); position += 4; break; // str 32
        case 0xc4: position += 1 + body[position]!; continue; // bin 8
        case 0xc5: position += 2 + body.readUInt16BE(position); continue; // bin 16
        case 0xc6: position += 4 + body.readUInt32BE(position); continue; // bin 32
        case 0xc7: position += 2 + body[position]!; continue; // ext 8
        case 0xc8: position += 3 + body.readUInt16BE(position); continue; // ext 16
        case 0xc9: position += 5 + body.readUInt32BE(position); continue; // ext 32
        case 0xcc: case 0xd0: position += 1; continue; // (u)int 8
        case 0xcd: case 0xd1: position += 2; continue; // (u)int 16
        case 0xca: case 0xce: case 0xd2: position += 4; continue; // float 32, (u)int 32
        case 0xcb: case 0xcf: case 0xd3: position += 8; continue; // float 64, (u)int 64
        case 0xd4: position += 2; continue; // fixext 1
        case 0xd5: position += 3; continue; // fixext 2
        case 0xd6: position += 5; continue; // fixext 4
        case 0xd7: position += 9; continue; // fixext 8
        case 0xd8: position += 17; continue; // fixext 16
        case 0xdc: case 0xde: position += 2; continue; // array 16, map 16
        case 0xdd: case 0xdf: position += 4; continue; // array 32, map 32
        case 0xc1: throw new BadJsonError(`body is not valid msgpack: 0xc1 (never used) at byte ${position - 1}`);
        default: continue; // nil, false, true
      }
    }
    const stringEnd = position + length;
    if (stringEnd > end) break;
    for (let index = position; index < stringEnd; index++) {
      if (body[index]! < 0x80) continue;
      if (!isUtf8(body.subarray(position, stringEnd))) throw new BadJsonError(`body holds a string that is not valid UTF-8 (at byte ${position})`);
      break;
    }
    if (length === 9 && body.compare(kProtoKey, 0, 9, position, stringEnd) === 0) hasProtoKey = true;
    position = stringEnd;
  }
  return hasProtoKey;
}

/** Turns the Maps of a map-mode decode into plain objects, keeping `__proto__` as an own key. */
function mapsToObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mapsToObjects);
  if (!(value instanceof Map)) return value;
  const object: Record<string, unknown> = {};
  for (const [key, item] of value) {
    if (typeof key === 'object' && key !== null) throw new BadJsonError('body is not valid msgpack: a map key is not a string');
    Object.defineProperty(object, String(key), { value: mapsToObjects(item), enumerable: true, writable: true, configurable: true });
  }
  return object;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}
