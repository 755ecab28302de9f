/**
 * Dead letters: a message that was term'd, or whose last allowed delivery's ack wait ran out, is
 * stored as an event of topic `dead.<group>` and then leaves the group. The order makes it exactly
 * once: the letter is stored first, under an event_id made from the original's identity (so storing
 * it again after a crash is a duplicate), and only then does `group_dead` take the message out of
 * the pending set; a message still dying after a restart is buried again by the next delivery.
 */
import { createHash } from 'node:crypto';
import { deadLetterId, deadLetterTopic, type DyingMessage, type GroupReply } from '../groups/model.js';
import type { CommitPath, PageSource } from '../ingest/storage.js';

/** What burying needs: the dying messages' originals (a reader), the pipeline to store letters, the command that takes them out. */
export interface DeadLetterParts {
  readonly commitPath: CommitPath;
  readonly pages: PageSource;
  /** Stores dead letters through the ingest pipeline (all or nothing; a repeat is a duplicate). */
  readonly publish: (events: readonly unknown[]) => Promise<void>;
  readonly maxEventBytes: number;
}

/** event_id is at most 128 characters: a longer identity is replaced by its SHA-256. */
const kMaxEventId = 128;

export class DeadLetters {
  readonly #parts: DeadLetterParts;
  readonly #heard: (name: string, shard: number, reply: GroupReply) => void;

  constructor(parts: DeadLetterParts, heard: (name: string, shard: number, reply: GroupReply) => void) {
    this.#parts = parts;
    this.#heard = heard;
  }

  /** Stores the dead letters of `seqs` (dying messages of one shard), then takes them out of the group. */
  async bury(name: string, shard: number, seqs: readonly number[]): Promise<void> {
    const dying = await this.#parts.pages.dying(shard, name, seqs);
    if (dying.length === 0) return;
    const letters = dying.filter((message) => message.eventJson !== null).map((message) => this.#letter(name, message));
    if (letters.length > 0) await this.#parts.publish(letters);
    const reply = await this.#parts.commitPath.groupCommand(shard, { kind: 'group_dead', name, seqs: dying.map((message) => message.seq), at: Date.now() });
    this.#heard(name, shard, reply);
  }

  #letter(name: string, message: DyingMessage): unknown {
    const identity = deadLetterId(message.topic!, message.eventId!);
    const eventId = identity.length <= kMaxEventId ? identity : `sha256:${createHash('sha256').update(identity).digest('hex')}`;
    const about = { group: name, reason: message.reason, delivery_count: message.deliveries, topic: message.topic, event_id: message.eventId };
    const whole = { ...about, event: JSON.parse(message.eventJson!) as unknown };
    // The original event may fill the size limit by itself: then the letter carries it without its payload.
    const payload = JSON.stringify(whole).length + 512 <= this.#parts.maxEventBytes ? whole : { ...about, event: { ...(whole.event as object), payload: null }, payload_dropped: true };
    return { topic: deadLetterTopic(name), event_id: eventId, timestamp: new Date().toISOString(), source: 'aggregator', payload };
  }
}
