/**
 * One OTLP log record with its resource and scope, as both encodings decode it (otlp-protobuf.ts,
 * otlp-json.ts): values already plain JSON, so the mapping to events (otlp.ts) is written once and
 * a record gives the same event, and the same hashed id, whichever encoding carried it.
 */

/** Attribute values as JSON: int64 as a number when it is exact, else its decimal string; bytes as base64. */
export type Attributes = Readonly<Record<string, unknown>>;

export interface ScopeView {
  readonly name: string;
  readonly version: string;
  readonly attributes: Attributes;
}

export interface LogRecordView {
  readonly resource: Attributes;
  readonly scope: ScopeView;
  readonly timeUnixNano: bigint;
  readonly observedTimeUnixNano: bigint;
  readonly severityNumber: number;
  readonly severityText: string;
  /** undefined: the record has no body. */
  readonly body: unknown;
  readonly attributes: Attributes;
  readonly droppedAttributesCount: number;
  readonly flags: number;
  /** Lower-case hex, '' when absent (the OTLP JSON form of the bytes). */
  readonly traceId: string;
  readonly spanId: string;
  readonly eventName: string;
}

/** Nesting of AnyValue arrays and maps past this is refused: the decoders recurse. */
export const kMaxValueDepth = 64;

export function int64Value(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}
