/**
 * The protobuf wire format, as much of it as OTLP and Loki need: a reader that walks the fields of
 * one message (each length-delimited field read as a sub-reader over the same bytes, no copies)
 * and a writer for the few small answers we encode. Hand-written rather than generated: the two
 * schemas are small and fixed, and a reader that bounds-checks every length is what decides
 * whether a hostile body is a 400 or a crash.
 */
import { BadJsonError } from '../errors.js';

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  Fixed32 = 5,
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

export class ProtoReader {
  readonly #bytes: Uint8Array;
  #position: number;
  readonly #end: number;
  /** The number and wire type of the field `next()` stopped at. */
  field = 0;
  wireType: WireType = WireType.Varint;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#position = start;
    this.#end = end;
  }

  /** Moves to the next field's key; false at the end of the message. */
  next(): boolean {
    if (this.#position >= this.#end) return false;
    const key = this.#varint32();
    this.field = key >>> 3;
    this.wireType = (key & 7) as WireType;
    if (this.field === 0) throw new BadJsonError('protobuf: field number 0');
    return true;
  }

  /** A varint as a number; precise up to 2^53, which every count and enum here stays under. */
  uint(): number {
    let result = 0;
    let scale = 1;
    for (let shift = 0; shift < 70; shift += 7) {
      const byte = this.#byte();
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new BadJsonError('protobuf: varint longer than 10 bytes');
  }

  /** A 64-bit varint (int64: two's complement) as an exact bigint. */
  int64(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.#byte();
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, result);
    }
    throw new BadJsonError('protobuf: varint longer than 10 bytes');
  }

  fixed64(): bigint {
    const view = this.#view(8);
    return view.getBigUint64(0, true);
  }

  fixed32(): number {
    return this.#view(4).getUint32(0, true);
  }

  double(): number {
    return this.#view(8).getFloat64(0, true);
  }

  bool(): boolean {
    return this.uint() !== 0;
  }

  bytes(): Uint8Array {
    const { start, end } = this.#delimited();
    return this.#bytes.subarray(start, end);
  }

  string(): string {
    try {
      return textDecoder.decode(this.bytes());
    } catch {
      throw new BadJsonError('protobuf: a string field is not valid UTF-8');
    }
  }

  /** The embedded message of a length-delimited field. */
  message(): ProtoReader {
    const { start, end } = this.#delimited();
    return new ProtoReader(this.#bytes, start, end);
  }

  /** Steps over a field this reader does not know: newer senders add fields. */
  skip(): void {
    switch (this.wireType) {
      case WireType.Varint:
        this.uint();
        return;
      case WireType.Fixed64:
        this.#view(8);
        return;
      case WireType.Bytes:
        this.#delimited();
        return;
      case WireType.Fixed32:
        this.#view(4);
        return;
      default:
        throw new BadJsonError(`protobuf: wire type ${this.wireType as number} is not supported`);
    }
  }

  /** The field's value, when its wire type is the one the schema says; else a 400. */
  expect(type: WireType): void {
    if (this.wireType !== type) throw new BadJsonError(`protobuf: field ${this.field} has wire type ${this.wireType}, expected ${type}`);
  }

  #byte(): number {
    if (this.#position >= this.#end) throw new BadJsonError('protobuf: the message ends inside a field');
    return this.#bytes[this.#position++]!;
  }

  #varint32(): number {
    const value = this.uint();
    if (value > 0xffffffff) throw new BadJsonError('protobuf: field key out of range');
    return value;
  }

  #view(length: number): DataView {
    if (this.#end - this.#position < length) throw new BadJsonError('protobuf: the message ends inside a field');
    const view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset + this.#position, length);
    this.#position += length;
    return view;
  }

  #delimited(): { start: number; end: number } {
    const length = this.uint();
    const start = this.#position;
    if (length > this.#end - start) throw new BadJsonError('protobuf: a length runs past the end of its message');
    this.#position = start + length;
    return { start, end: this.#position };
  }
}

/** Encodes small messages: fields appended in order, an embedded message as its finished bytes. */
export class ProtoWriter {
  readonly #parts: number[] = [];

  varint(field: number, value: number): this {
    this.#key(field, WireType.Varint);
    this.#varint(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  bytes(field: number, value: Uint8Array): this {
    this.#key(field, WireType.Bytes);
    this.#varint(value.length);
    for (const byte of value) this.#parts.push(byte);
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.#parts);
  }

  #key(field: number, type: WireType): void {
    this.#varint(field * 8 + type);
  }

  #varint(value: number): void {
    let rest = value;
    while (rest >= 0x80) {
      this.#parts.push((rest % 128) | 0x80);
      rest = Math.floor(rest / 128);
    }
    this.#parts.push(rest);
  }
}
