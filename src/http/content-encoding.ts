import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw } from 'node:zlib';
import { uncompress } from 'snappyjs';
import { AggregatorError, TooLargeError, UnsupportedMediaTypeError } from '../errors.js';

export type ContentCoding = 'identity' | 'gzip' | 'deflate';

// A Map, not an object: `constructor` or `__proto__` must not name a coding.
const codings: ReadonlyMap<string, ContentCoding> = new Map([['', 'identity'], ['identity', 'identity'], ['gzip', 'gzip'], ['x-gzip', 'gzip'], ['deflate', 'deflate']]);

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);

/** Reads `Content-Encoding`: identity, gzip or deflate; anything else (br, zstd, a list) is a 415. */
export function contentCodingOf(header: string): ContentCoding {
  const coding = codings.get(header.trim().toLowerCase());
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
 * that is checked against the limit before anything is allocated: a bomb is a 413 before any work.
 * snappyjs neither checks that the elements fill exactly the stated length (a short block comes
 * back zero-padded, a long one cut) nor that a copy reaches back only into what was written, so
 * the elements are walked here first: a block that does not add up is `bad_encoding`, not a body
 * silently shortened.
 */
export function decodeSnappy(body: Buffer, maxBytes: number): Buffer {
  const header = snappyLength(body);
  if (header !== null && header.length > maxBytes) throw new TooLargeError(`body inflates to more than ${maxBytes} bytes`);
  const problem = header === null ? 'no valid stated length' : snappyProblem(body, header.start, header.length);
  if (problem !== null) throw new AggregatorError('bad_encoding', `body is not a valid snappy block: ${problem}`);
  try {
    return Buffer.from(uncompress(body, maxBytes));
  } catch (error) {
    throw new AggregatorError('bad_encoding', `body is not a valid snappy block: ${(error as Error).message}`);
  }
}

/** The inflated length a snappy block states first (a little-endian base-128 varint of at most 32 bits), and where its elements start; null: no valid one. */
function snappyLength(block: Buffer): { length: number; start: number } | null {
  let length = 0;
  for (let index = 0; index < 5 && index < block.length; index++) {
    const byte = block[index]!;
    length += (byte & 0x7f) * 2 ** (7 * index);
    if ((byte & 0x80) === 0) return { length, start: index + 1 };
  }
  return null;
}

/** Walks a block's elements (literals and copies) without inflating them: what is wrong with it, or null. */
function snappyProblem(block: Buffer, start: number, stated: number): string | null {
  let written = 0;
  let position = start;
  while (position < block.length) {
    const tag = block[position++]!;
    let length: number;
    let offset = 0;
    if ((tag & 3) === 0) {
      length = tag >>> 2;
      if (length >= 60) {
        const bytes = length - 59;
        if (position + bytes > block.length) return 'a literal length runs past the end';
        length = block.readUIntLE(position, bytes);
        position += bytes;
      }
      length += 1;
      if (position + length > block.length) return 'a literal runs past the end';
      position += length;
    } else {
      const offsetBytes = [0, 1, 2, 4][tag & 3]!;
      if (position + offsetBytes > block.length) return 'a copy runs past the end';
      length = (tag & 3) === 1 ? ((tag >>> 2) & 7) + 4 : (tag >>> 2) + 1;
      offset = (tag & 3) === 1 ? ((tag >>> 5) << 8) + block[position]! : block.readUIntLE(position, offsetBytes);
      position += offsetBytes;
      if (offset === 0 || offset > written) return 'a copy reaches back before the start';
    }
    written += length;
    if (written > stated) return `the elements hold more than the stated ${stated} bytes`;
  }
  return written === stated ? null : `the elements hold ${written} bytes, not the stated ${stated}`;
}
