import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { EventProblem } from '../errors.js';
import { EventSchema, formatMessages, type Event } from './schema.js';

const checker = TypeCompiler.Compile(EventSchema);

/** At most this many problems are reported for one request: enough to fix it, bounded in size. */
export const kMaxProblems = 100;

export interface ValidationLimits {
  readonly maxPayloadDepth: number;
}

/**
 * Checks every event of a request and returns what is wrong with each, in request order.
 * The compiled check is the fast path; the detailed (slow) error walk runs only for events that fail.
 */
export function findProblems(events: readonly unknown[], limits: ValidationLimits): EventProblem[] {
  const problems: EventProblem[] = [];
  for (let index = 0; index < events.length && problems.length < kMaxProblems; index++) {
    const event = events[index];
    if (!checker.Check(event)) {
      describeErrors(event, index, problems);
      continue;
    }
    const payloadProblem = checkPayload(event.payload, limits.maxPayloadDepth);
    if (payloadProblem) problems.push({ index, path: `/payload${payloadProblem.path}`, message: payloadProblem.message });
  }
  return problems;
}

export function isEvent(value: unknown): value is Event {
  return checker.Check(value);
}

function describeErrors(event: unknown, index: number, problems: EventProblem[]): void {
  const seenPaths = new Set<string>();
  for (const error of checker.Errors(event)) {
    if (problems.length >= kMaxProblems) return;
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

/**
 * A payload must survive JSON storage unchanged and stay shallow enough to walk without
 * exhausting a stack. JSON bodies only fail the depth rule; msgpack bodies can also carry
 * binary, dates, NaN or undefined, which JSON cannot represent. The walk builds no paths
 * (it runs for every event); only a failing payload is walked again to say where.
 */
function checkPayload(payload: unknown, maxDepth: number): PayloadProblem | null {
  if (walkPayload(payload, maxDepth, false) === true) return null;
  const located = walkPayload(payload, maxDepth, true);
  return located === true || located === false ? { path: '', message: 'invalid payload' } : located;
}

function walkPayload(payload: unknown, maxDepth: number, locate: boolean): boolean | PayloadProblem {
  const values: unknown[] = [payload];
  const depths: number[] = [1];
  const paths: string[] = [''];
  const problem = (path: string, message: string): false | PayloadProblem => (locate ? { path, message } : false);
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    const path = locate ? paths.pop()! : '';
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
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
      values.push((value as Record<string | number, unknown>)[key]);
      depths.push(depth + 1);
      if (locate) paths.push(`${path}/${escapePointer(String(key))}`);
    }
  }
  return true;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
