/**
 * The Elasticsearch `_bulk` protocol, without the socket: NDJSON action/source pairs in, our events
 * (or a per-item error) out, and the `_bulk` answer rendered from the verdicts. Mapping (docs/API.md):
 * `_index` (or the index in the path) → topic, `_id` → event_id (absent: a hash of index and
 * document, so an identical resend dedups), the document → payload, `@timestamp` (or `timestamp`)
 * → timestamp (absent or not a date: the receive time), a configurable document field → source
 * (absent: the index name).
 */
import { BadJsonError } from '../errors.js';
import { isRfc3339DateTime } from '../events/schema.js';
import { contentId } from './mapping.js';

export type BulkAction = 'create' | 'index' | 'delete' | 'update';

/** One item of a bulk request: an event to store, or why it cannot be. */
export interface BulkItem {
  readonly action: BulkAction;
  readonly index: string;
  readonly id: string;
  /** The event as /publish would take it; null when the item fails before it (see `error`). */
  readonly event: Record<string, unknown> | null;
  readonly error: BulkItemError | null;
}

export interface BulkItemError {
  readonly status: number;
  readonly type: string;
  readonly reason: string;
}

export type BulkVerdict = 'stored' | 'duplicate' | BulkItemError;

const actions: ReadonlySet<string> = new Set(['create', 'index', 'delete', 'update']);

/** Parses a bulk body; a line that is not JSON, or an action line without a known action, fails the whole request (400). */
export function parseBulk(body: string, defaultIndex: string | null, sourceField: string, receivedAt: Date): BulkItem[] {
  const lines = body.split('\n');
  const items: BulkItem[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.trim();
    if (line === '') continue;
    const [action, meta] = canonicalAction(line) ?? actionOf(parseLine(line, index + 1), index + 1);
    const target = typeof meta._index === 'string' ? meta._index : defaultIndex;
    const documentId = typeof meta._id === 'string' || typeof meta._id === 'number' ? String(meta._id) : null;
    if (action === 'delete') {
      items.push(unsupported(action, target ?? '', documentId ?? '', 'delete is not supported: stored events are immutable'));
      continue;
    }
    // Every other action is followed by its source line.
    const sourceLine = lines[++index]?.trim() ?? '';
    if (sourceLine === '') throw new BadJsonError(`line ${index}: the ${action} action has no document line after it`);
    const document = parseLine(sourceLine, index + 1);
    if (action === 'update') {
      items.push(unsupported(action, target ?? '', documentId ?? '', 'update is not supported: stored events are immutable'));
      continue;
    }
    if (target === null) {
      items.push({ action, index: '', id: documentId ?? '', event: null, error: { status: 400, type: 'action_request_validation_exception', reason: 'index is missing' } });
      continue;
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      items.push({ action, index: target, id: documentId ?? '', event: null, error: { status: 400, type: 'mapper_parsing_exception', reason: 'the document must be a JSON object' } });
      continue;
    }
    const payload = document as Record<string, unknown>;
    const id = documentId ?? contentId(target, sourceLine);
    items.push({ action, index: target, id, event: toEvent(target, id, payload, sourceField, receivedAt), error: null });
  }
  return items;
}

// The constant tails of a successful item, rendered once: a 1000-item answer is built on the
// ingress thread. Elasticsearch adds `_shards`, `_seq_no` and `_primary_term`, which no shipper
// reads (they look at `status`, `error` and `result`): left out, they would double the answer.
const kCreatedTail = ',"_version":1,"result":"created","status":201}}';
const kKeptTail = ',"_version":1,"result":"updated","status":200}}';

/**
 * The `_bulk` answer: compact JSON, `errors` true only when an item failed (Vector matches the
 * substring). Built as text: it runs for every item of every bulk request, where building an
 * object per item and stringifying it was a third of the ingress thread.
 */
export function renderBulkResponse(items: readonly BulkItem[], verdicts: readonly BulkVerdict[], tookMs: number): string {
  let errors = false;
  const parts = new Array<string>(items.length);
  for (let position = 0; position < items.length; position++) {
    const item = items[position]!;
    const verdict = verdicts[position]!;
    const index = JSON.stringify(item.index);
    const head = `{"${item.action}":{"_index":${index},"_id":${JSON.stringify(item.id)}`;
    if (typeof verdict === 'object') {
      errors = true;
      parts[position] = `${head},"status":${verdict.status},"error":{"type":"${verdict.type}","reason":${JSON.stringify(verdict.reason)},"index":${index}}}}`;
    } else if (verdict === 'duplicate' && item.action === 'create') {
      errors = true;
      const reason = JSON.stringify(`[${item.id}]: version conflict, document already exists (current version [1])`);
      parts[position] = `${head},"status":409,"error":{"type":"version_conflict_engine_exception","reason":${reason},"index":${index}}}}`;
    } else {
      // `index` of a stored id succeeds without changing anything: the first copy wins.
      parts[position] = head + (verdict === 'stored' ? kCreatedTail : kKeptTail);
    }
  }
  return `{"took":${Math.round(tookMs)},"errors":${errors},"items":[${parts.join(',')}]}`;
}

// The action line every client writes, `{"create":{"_index":"logs","_id":"1"}}` (index and id
// without escapes or control characters, in that order), read without JSON.parse: it is half the lines of a bulk body.
// Anything else takes the general path below.
const kCanonicalAction = /^\{"(create|index)":\{"_index":"([^"\\\x00-\x1f]*)","_id":"([^"\\\x00-\x1f]*)"\}\}$/;

function canonicalAction(line: string): [BulkAction, Record<string, unknown>] | null {
  const match = kCanonicalAction.exec(line);
  return match ? [match[1] as BulkAction, { _index: match[2], _id: match[3] }] : null;
}

function parseLine(line: string, number: number): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new BadJsonError(`line ${number} is not valid JSON: ${(error as Error).message}`);
  }
}

function actionOf(header: unknown, number: number): [BulkAction, Record<string, unknown>] {
  if (typeof header === 'object' && header !== null && !Array.isArray(header)) {
    const keys = Object.keys(header);
    const action = keys[0];
    const meta = action === undefined ? undefined : (header as Record<string, unknown>)[action];
    if (keys.length === 1 && actions.has(action!) && typeof meta === 'object' && meta !== null) return [action as BulkAction, meta as Record<string, unknown>];
  }
  throw new BadJsonError(`line ${number}: expected an action line such as {"create":{"_index":"logs","_id":"1"}}`);
}

function unsupported(action: BulkAction, index: string, id: string, reason: string): BulkItem {
  return { action, index, id, event: null, error: { status: 400, type: 'illegal_argument_exception', reason } };
}

function toEvent(index: string, id: string, document: Record<string, unknown>, sourceField: string, receivedAt: Date): Record<string, unknown> {
  return { topic: index, event_id: id, timestamp: timestampOf(document, receivedAt), source: sourceOf(document, sourceField) ?? index, payload: document };
}

function timestampOf(document: Record<string, unknown>, receivedAt: Date): string {
  for (const field of ['@timestamp', 'timestamp']) {
    const value = document[field];
    if (typeof value === 'string' && isRfc3339DateTime(value)) return value;
    if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 8.64e15) return new Date(value).toISOString();
  }
  return receivedAt.toISOString();
}

/** `host.name` is read as a dotted path ({"host":{"name":…}}) or as one key ("host.name"). */
function sourceOf(document: Record<string, unknown>, field: string): string | null {
  let value: unknown = document[field];
  if (value === undefined) {
    value = document;
    for (const part of field.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
  }
  return typeof value === 'string' && value.length > 0 && value.length <= 128 && value.isWellFormed() ? value : null;
}
