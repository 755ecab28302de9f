import { ConsumerError, isRecord, type Transport } from './http.js';
import type { AckStatus } from './wire.js';

/**
 * --verify: did this run consume every stored event of its topics, and each exactly once? The
 * ledger records what the run's acks answered per (topic, event_id); afterwards every stored event
 * of those topics is read back through /events and compared. It assumes the group started at the
 * earliest event and that no other consumer of the group ran meanwhile.
 */

// Neither a topic nor an event_id may hold a control character, so NUL cannot be part of either.
const key = (topic: string, eventId: string): string => `${topic}\u0000${eventId}`;
const shown = (entryKey: string): string => entryKey.replace('\u0000', '/');

const kSampleSize = 10;
const kPageLimit = 1000;

interface Tally {
  acked: number;
  alreadyAcked: number;
}

export class AckLedger {
  readonly #entries = new Map<string, Tally>();
  readonly #topics = new Set<string>();

  /** A message of this topic arrived (whether or not its handler succeeds): the topic gets checked. */
  saw(topic: string): void {
    this.#topics.add(topic);
  }

  record(topic: string, eventId: string, status: AckStatus): void {
    this.#topics.add(topic);
    const entryKey = key(topic, eventId);
    let tally = this.#entries.get(entryKey);
    if (!tally) this.#entries.set(entryKey, (tally = { acked: 0, alreadyAcked: 0 }));
    if (status === 'acked') tally.acked++;
    else if (status === 'already_acked') tally.alreadyAcked++;
  }

  get topics(): ReadonlySet<string> {
    return this.#topics;
  }

  get(topic: string, eventId: string): Readonly<Tally> | undefined {
    return this.#entries.get(key(topic, eventId));
  }

  entries(): IterableIterator<[string, Readonly<Tally>]> {
    return this.#entries.entries();
  }
}

export interface VerifyResult {
  readonly ok: boolean;
  /** The exact topics read back. */
  readonly topics: readonly string[];
  /** Events stored in them. */
  readonly stored: number;
  /** Stored events this run's acks never answered `acked` or `already_acked` for. */
  readonly missing: number;
  /** Events answered `acked` more than once in this run. */
  readonly doubles: number;
  /** `already_acked` answers (harmless: e.g. a retried ack whose first answer was lost). */
  readonly already_acked: number;
  /** Acked events /events does not hold (expired or deleted meanwhile): reported, not a failure. */
  readonly not_stored: number;
  /** Up to 10 of each, as `topic/event_id`. */
  readonly missing_sample: readonly string[];
  readonly double_sample: readonly string[];
}

/** Every topic to read back: those the run saw, and the literal (glob-free) ones it was told to consume. */
export function topicsToCheck(ledger: AckLedger, configured: readonly string[]): string[] {
  return [...new Set([...ledger.topics, ...configured.filter((topic) => !topic.includes('*'))])].sort();
}

export async function verifyRun(ledger: AckLedger, topics: readonly string[], reader: Transport): Promise<VerifyResult> {
  const missing = new Sample();
  const storedKeys = new Set<string>();
  for (const topic of topics) {
    for await (const eventId of storedEventIds(reader, topic)) {
      storedKeys.add(key(topic, eventId));
      const tally = ledger.get(topic, eventId);
      if (!tally || tally.acked + tally.alreadyAcked === 0) missing.add(key(topic, eventId));
    }
  }
  const doubles = new Sample();
  let alreadyAcked = 0;
  let notStored = 0;
  for (const [entryKey, tally] of ledger.entries()) {
    alreadyAcked += tally.alreadyAcked;
    if (tally.acked > 1) doubles.add(entryKey);
    if (tally.acked + tally.alreadyAcked > 0 && !storedKeys.has(entryKey)) notStored++;
  }
  return {
    ok: missing.count === 0 && doubles.count === 0,
    topics: [...topics],
    stored: storedKeys.size,
    missing: missing.count,
    doubles: doubles.count,
    already_acked: alreadyAcked,
    not_stored: notStored,
    missing_sample: missing.items,
    double_sample: doubles.items,
  };
}

/** A count, and the first few keys for the report (a run can miss millions). */
class Sample {
  count = 0;
  readonly items: string[] = [];

  add(entryKey: string): void {
    if (this.count++ < kSampleSize) this.items.push(shown(entryKey));
  }
}

/**
 * The event_id of every stored event of one exact topic, in seq order. `next` is set on every page
 * that holds events, so paging goes on until an empty page rather than trusting a short one to be
 * the last (docs/API.md "GET /events").
 */
async function* storedEventIds(reader: Transport, topic: string): AsyncGenerator<string> {
  let after: string | null = null;
  for (;;) {
    const query = new URLSearchParams({ topic, limit: String(kPageLimit) });
    if (after !== null) query.set('after', after);
    const path = `/events?${query}`;
    const { body } = await reader.call('GET', path);
    if (!isRecord(body) || !Array.isArray(body.events) || !(typeof body.next === 'string' || body.next === null)) {
      throw new ConsumerError('bad_reply', `GET ${path} answered without "events" and "next": ${JSON.stringify(body)?.slice(0, 200)}`);
    }
    for (const event of body.events as unknown[]) {
      if (!isRecord(event) || typeof event.event_id !== 'string') throw new ConsumerError('bad_reply', `GET ${path} answered an event without event_id`);
      yield event.event_id;
    }
    if (body.events.length === 0 || body.next === null) return;
    after = body.next;
  }
}

export function describeVerify(result: VerifyResult): string {
  const parts = [
    `${result.stored} stored event(s) in ${result.topics.length} topic(s)`,
    `missing ${result.missing}`,
    `acked twice ${result.doubles}`,
    `already_acked answers ${result.already_acked}`,
  ];
  if (result.not_stored > 0) parts.push(`acked but not stored ${result.not_stored}`);
  const samples = [
    result.missing_sample.length > 0 ? `; missing e.g. ${result.missing_sample.join(', ')}` : '',
    result.double_sample.length > 0 ? `; acked twice e.g. ${result.double_sample.join(', ')}` : '',
  ].join('');
  return `${result.ok ? 'OK' : 'MISMATCH'}: ${parts.join(', ')}${samples}`;
}
