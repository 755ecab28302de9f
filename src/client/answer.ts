import { ClientError, isRecord, parseJson, serverError, type EventProblem } from './errors.js';
import type { Answer } from './transport.js';

/** What the server did with one event, once it was committed (`?results=1`, docs/API.md#post-publish). */
export interface Verdict {
  readonly topic: string;
  readonly event_id: string;
  /** `duplicate`: its (topic, event_id) was already stored, earlier or earlier in the same request. */
  readonly status: 'stored' | 'duplicate';
}

/** What to do with the events of one request, read off the answer. */
export type BatchOutcome =
  /** 200: a verdict per event, in request order. */
  | { readonly kind: 'verdicts'; readonly verdicts: readonly Verdict[] }
  /** 422 naming events by index: those fail, the others were not stored and go again without them. */
  | { readonly kind: 'invalid'; readonly problems: ReadonlyMap<number, readonly EventProblem[]> }
  /** 413 for more than one event (the server's body, batch or ring limit is lower than ours): halve and send again. */
  | { readonly kind: 'split' }
  /** Every event of the request fails with this error. */
  | { readonly kind: 'failed'; readonly error: ClientError };

/** Reads the final answer to `POST /publish?results=1` of `count` events. */
export function readPublishAnswer(answer: Answer, count: number): BatchOutcome {
  const what = `POST /publish of ${count} event(s)`;
  if (answer.status === 200) {
    const verdicts = readVerdicts(answer.text, count);
    if (verdicts) return { kind: 'verdicts', verdicts };
    return { kind: 'failed', error: new ClientError('bad_reply', `${what} answered 200 without ${count} verdicts: ${answer.text.slice(0, 200)}`, { status: 200 }) };
  }
  const { code, text } = serverError(answer.text);
  const refusal = { status: answer.status, serverCode: code };
  if (answer.status === 422 && code === 'invalid_event') {
    const problems = problemsByIndex(answer.text, count);
    if (problems.size > 0) return { kind: 'invalid', problems };
    // No detail names an event (cannot happen with the documented body): then none can be told apart.
    return { kind: 'failed', error: new ClientError('invalid_event', `${what} answered 422 ${text}`, refusal) };
  }
  if (answer.status === 413 && count > 1) return { kind: 'split' };
  return { kind: 'failed', error: new ClientError('refused', `${what} answered ${answer.status} ${text} (not retried)`, refusal) };
}

function readVerdicts(text: string, count: number): Verdict[] | null {
  const reply = parseJson(text);
  if (!isRecord(reply) || reply.accepted !== count || !Array.isArray(reply.results) || reply.results.length !== count) return null;
  const verdicts: Verdict[] = [];
  for (const item of reply.results as unknown[]) {
    if (!isRecord(item) || typeof item.topic !== 'string' || typeof item.event_id !== 'string' || (item.status !== 'stored' && item.status !== 'duplicate')) return null;
    verdicts.push(Object.freeze({ topic: item.topic, event_id: item.event_id, status: item.status }));
  }
  return verdicts;
}

/** `error.details[]` of a 422 grouped by the index of the event in the request; details outside it are ignored. */
function problemsByIndex(text: string, count: number): Map<number, EventProblem[]> {
  const reply = parseJson(text);
  const details = isRecord(reply) && isRecord(reply.error) && Array.isArray(reply.error.details) ? (reply.error.details as unknown[]) : [];
  const problems = new Map<number, EventProblem[]>();
  for (const detail of details) {
    if (!isRecord(detail) || !Number.isInteger(detail.index)) continue;
    const index = detail.index as number;
    if (index < 0 || index >= count) continue;
    const list = problems.get(index) ?? [];
    list.push({ path: typeof detail.path === 'string' ? detail.path : '', message: typeof detail.message === 'string' ? detail.message : 'invalid' });
    problems.set(index, list);
  }
  return problems;
}
