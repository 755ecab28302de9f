/**
 * A replica's reads of its shard's log (shard-host.ts): a window of gets by sequence sent at once,
 * answered by the stream's leader, taken in order up to the first one the stream does not have
 * (the end) or cannot give (no leader, a timeout: not the end). Reads failing for longer than
 * `kReadFailureMs` become a `problem`: a node whose NATS server lost its quorum still has a
 * connection, and must not look caught up or healthy meanwhile.
 */
import { isApiError } from './nats-errors.js';
import type { StoredMsg } from 'nats';
import type { Extent } from './replica-watchdog.js';

/** Gets by sequence (nats.js's `jsm.streams.getMessage`), and the stream's extent (`jsm.streams.info`). */
export interface LogReader {
  getMessage(stream: string, query: { seq: number }): Promise<StoredMsg>;
  extent(stream: string): Promise<Extent>;
}

/** Reads failing this long (a stream without a leader, a server cut off from its quorum): the replica says so. */
const kReadFailureMs = 3000;

export class LogReads {
  readonly #reader: LogReader;
  readonly #stream: string;
  readonly #shard: number;
  #failingSince: number | null = null;
  /** Whether the last read found the end of the stream. */
  atEnd = false;
  /** Why the reads fail, once they failed for a while; null while they work. */
  problem: string | null = null;

  constructor(reader: LogReader, stream: string, shard: number) {
    this.#reader = reader;
    this.#stream = stream;
    this.#shard = shard;
  }

  /** The messages from `from` on, up to `window` of them. */
  async read(from: number, window: number): Promise<StoredMsg[]> {
    const gets = Array.from({ length: window }, (_, offset) => this.#reader.getMessage(this.#stream, { seq: from + offset }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
    const found: StoredMsg[] = [];
    let failed: Error | null = null;
    for (const get of gets) {
      const message = await get;
      if (message instanceof Error) {
        if (!isApiError(message, 'noMessageFound')) failed = message;
        break;
      }
      if (message.seq !== from + found.length) break;
      found.push(message);
    }
    // Fewer than asked for, and no read failed: this read reached the end of the stream.
    this.atEnd = failed === null && found.length < window;
    if (failed === null) {
      this.#failingSince = null;
      this.problem = null;
    } else {
      this.#failingSince ??= performance.now();
      if (performance.now() - this.#failingSince > kReadFailureMs) this.problem = `replica of shard ${this.#shard}: cannot read its log for ${kReadFailureMs} ms (${failed.message})`;
    }
    return found;
  }
}
