import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { EventProblem } from '../errors.js';
import { EventSchema, formatMessages } from './schema.js';

const checker = TypeCompiler.Compile(EventSchema);

/** At most this many problems are reported for one request: enough to fix it, bounded in size. */
export const kMaxProblems = 100;

export interface ValidationLimits {
  readonly maxPayloadDepth: number;
}

/**
 * Checks every event of a request and returns what is wrong with each, in request order.
 * The compiled check is the fast path; the detailed (slow) error walk runs only for events that fail.
 * `textPayloads`, when given, receives the indexes of valid events whose payload must be carried to
 * the store as JSON text rather than as msgpack (see `PayloadWalk.Text`).
 */
export function findProblems(events: readonly unknown[], limits: ValidationLimits, textPayloads?: number[], maxProblems = kMaxProblems): EventProblem[] {
  const problems: EventProblem[] = [];
  for (let index = 0; index < events.length && problems.length < maxProblems; index++) {
    const event = events[index];
    if (!checker.Check(event)) {
      describeErrors(event, index, problems, maxProblems);
      continue;
    }
    const walk = walkPayload(event.payload, limits.maxPayloadDepth, false);
    if (walk === PayloadWalk.Text) textPayloads?.push(index);
    else if (walk !== PayloadWalk.Plain) {
      const payloadProblem = locatePayloadProblem(event.payload, limits.maxPayloadDepth);
      problems.push({ index, path: `/payload${payloadProblem.path}`, message: payloadProblem.message });
    }
  }
  return problems;
}

function describeErrors(event: unknown, index: number, problems: EventProblem[], maxProblems: number): void {
  const seenPaths = new Set<string>();
  for (const error of checker.Errors(event)) {
    if (problems.length >= maxProblems) return;
    // TypeBox may report several rules for one path (length and pattern, say); the first is enough.
    if (seenPaths.has(error.path)) continue;
    seenPaths.add(error.path);
    const format = error.type === ValueErrorType.StringFormat ? (error.schema as { format?: string }).format : undefined;
    const message =
      error.type === ValueErrorType.ObjectAdditionalProperties
        ? 'unknown field (a typo would silently lose data)'
        : format && formatMessages[format]
          ? formatMessages[format]!
          : error.message;
    problems.push({ index, path: error.path, message });
  }
}

interface PayloadProblem {
  readonly path: string;
  readonly message: string;
}

/** What a payload walk found when the payload is valid. */
const PayloadWalk = {
  /** Plain JSON: msgpack carries it to the store unchanged. */
  Plain: 1,
  /**
   * Valid, but msgpack would not carry it unchanged, so it travels as JSON text: an own
   * `__proto__` key (msgpackr renames it to `__proto_` when decoding), or a string or key holding
   * an unpaired surrogate (msgpack strings are UTF-8, which cannot hold one; JSON text escapes it).
   */
  Text: 2,
} as const;
type PayloadWalk = (typeof PayloadWalk)[keyof typeof PayloadWalk];

/**
 * A payload must survive JSON storage unchanged and stay shallow enough to walk without
 * exhausting a stack. JSON bodies only fail the depth rule; msgpack bodies can also carry
 * binary, dates, NaN or undefined, which JSON cannot represent. The walk builds no paths
 * (it runs for every event); only a failing payload is walked again to say where.
 */
function locatePayloadProblem(payload: unknown, maxDepth: number): PayloadProblem {
  const located = walkPayload(payload, maxDepth, true);
  return typeof located === 'object' ? located : { path: '', message: 'invalid payload' };
}

function walkPayload(payload: unknown, maxDepth: number, locate: boolean): PayloadWalk | false | PayloadProblem {
  const values: unknown[] = [payload];
  const depths: number[] = [1];
  const paths: string[] = [''];
  let verdict: PayloadWalk = PayloadWalk.Plain;
  const problem = (path: string, message: string): false | PayloadProblem => (locate ? { path, message } : false);
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    const path = locate ? paths.pop()! : '';
    if (typeof value === 'string') {
      if (!value.isWellFormed()) verdict = PayloadWalk.Text;
      continue;
    }
    if (value === null || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return problem(path, 'numbers must be finite');
      continue;
    }
    if (typeof value !== 'object') return problem(path, `${typeof value} is not a JSON value`);
    if (depth > maxDepth) return problem(path, `nested deeper than ${maxDepth} levels`);
    const isArray = Array.isArray(value);
    if (!isArray) {
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) {
        return problem(path, 'only plain JSON objects and arrays are allowed');
      }
    }
    for (const key of isArray ? value.keys() : Object.keys(value)) {
      if (typeof key === 'string' && (key === '__proto__' || !key.isWellFormed())) verdict = PayloadWalk.Text;
      values.push((value as Record<string | number, unknown>)[key]);
      depths.push(depth + 1);
      if (locate) paths.push(`${path}/${escapePointer(String(key))}`);
    }
  }
  return verdict;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
