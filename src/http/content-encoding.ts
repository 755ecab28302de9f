import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw } from 'node:zlib';
import { uncompress } from 'snappyjs';
import { AggregatorError, TooLargeError, UnsupportedMediaTypeError } from '../errors.js';

export type ContentCoding = 'identity' | 'gzip' | 'deflate';

const codings: Readonly<Record<string, ContentCoding>> = { '': 'identity', identity: 'identity', gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate' };

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);

/** Reads `Content-Encoding`: identity, gzip or deflate; anything else (br, zstd, a list) is a 415. */
export function contentCodingOf(header: string): ContentCoding {
  const coding = codings[header.trim().toLowerCase()];
  if (!coding) throw new UnsupportedMediaTypeError(`Content-Encoding ${header}`, 'Content-Encoding gzip, deflate or none');
  return coding;
}

/**
 * The body as its sender wrote it, inflated on the libuv thread pool (not on the ingress thread).
 * The body limit holds for the inflated bytes, counted by zlib while it inflates
 * (`maxOutputLength`): a small bomb stops at the limit with a 413, never filling memory.
 * HTTP's `deflate` is the zlib format, but some senders send a raw deflate stream: both are read.
 */
export async function decodeContent(body: Buffer, coding: ContentCoding, maxBytes: number): Promise<Buffer> {
  if (coding === 'identity') return body;
  const options = { maxOutputLength: maxBytes };
  try {
    if (coding === 'gzip') return await gunzipAsync(body, options);
    return await inflateAsync(body, options).catch((error: unknown) => {
      if ((error as { code?: string }).code === 'Z_DATA_ERROR') return inflateRawAsync(body, options);
      throw error;
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) throw new TooLargeError(`body inflates to more than ${maxBytes} bytes`);
    throw new AggregatorError('bad_encoding', `body is not valid ${coding}: ${(error as Error).message}`);
  }
}

/**
 * A snappy block (Loki's protobuf push body). The block states its inflated length first, and
 * snappyjs checks it against the limit before it allocates: a bomb is a 413 before any work.
 */
export function decodeSnappy(body: Buffer, maxBytes: number): Buffer {
  const length = snappyLength(body);
  if (length !== null && length > maxBytes) throw new TooLargeError(`body inflates to more than ${maxBytes} bytes`);
  try {
    return Buffer.from(uncompress(body, maxBytes));
  } catch (error) {
    throw new AggregatorError('bad_encoding', `body is not a valid snappy block: ${(error as Error).message}`);
  }
}

/** The inflated length a snappy block states first (a little-endian base-128 varint of at most 32 bits); null: no valid one. */
function snappyLength(block: Buffer): number | null {
  let length = 0;
  for (let index = 0; index < 5 && index < block.length; index++) {
    const byte = block[index]!;
    length += (byte & 0x7f) * 2 ** (7 * index);
    if ((byte & 0x80) === 0) return length;
  }
  return null;
}
