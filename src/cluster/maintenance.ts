/**
 * Retention in cluster mode: the owner of a shard (ownership.ts) appends expire commands to its
 * log, each carrying the owner's clock and rules (src/store/log-expiry.ts), and every replica
 * applies them at their log position. Expiry is thus a function of the log, like everything else
 * a replica stores: no replica consults its own clock.
 *
 * A command goes every `intervalMs` while rules exist, expiring at most `kExpireLimit` rows (a
 * backlog takes several beats); with `--forget-after` each one also sweeps a bounded slice of
 * `retired`. A shard whose log took nothing but these commands since the last
 * one, which found nothing to do, gets them ever more seldom, down to one in `kQuietMs`: an idle
 * cluster's logs (trimmed only by snapshots) grow slowly, and any other message brings the beat
 * back. One command per shard is out at a time, so a replica that lags gets no pile of them. Two
 * owners for a moment after a lease moves send two commands, which is harmless: expiry at a given
 * clock is idempotent, and an older clock after a newer one finds nothing more due.
 */
import { kExpireLimit, type ExpireCommand } from '../store/log-expiry.js';
import type { RetentionRule } from '../store/retention.js';

export interface MaintenanceOptions {
  readonly shards: number;
  /** `--retention` and `--retention-bytes`, parsed. */
  readonly retention: readonly RetentionRule[];
  /** `--forget-after` in ms, or null: never. */
  readonly forgetAfterMs: number | null;
  readonly owns: (shard: number) => boolean;
  /** The last log position this node's replica of the shard applied. */
  readonly applied: (shard: number) => number;
  /** Appends the command to the shard's log; resolves once this node applied it, with the count of rows and identities it removed. */
  readonly send: (shard: number, command: ExpireCommand) => Promise<number>;
  readonly onError: (message: string) => void;
  readonly intervalMs?: number;
}

const kIntervalMs = 1000;
/** The longest pause between commands to a quiet shard: how late an idle shard's events may expire. */
const kQuietMs = 8000;
/**
 * Keys of `retired` one command's sweep looks at: a few ms inside the commit. A whole pass over
 * 10 M remembered identities takes ~17 min at one command a second, small next to any useful
 * `--forget-after`.
 */
const kForgetKeys = 10_000;

interface Beat {
  /** A command is out. */
  sending: boolean;
  /** When the last command went (performance.now()). */
  sentAt: number;
  /** The pause before the next one. */
  pauseMs: number;
  /** The shard's applied position right after the last command: nothing else came while it still is. */
  appliedAfter: number;
  /** The last send failed (reported once, until one succeeds). */
  failing: boolean;
}

export class Maintenance {
  readonly #options: MaintenanceOptions;
  readonly #intervalMs: number;
  readonly #timer: NodeJS.Timeout;
  readonly #beats: Beat[];

  /** Null when there is nothing to expire or forget: no timer at all. */
  static start(options: MaintenanceOptions): Maintenance | null {
    return options.retention.length > 0 || options.forgetAfterMs !== null ? new Maintenance(options) : null;
  }

  private constructor(options: MaintenanceOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs ?? kIntervalMs;
    this.#beats = Array.from({ length: options.shards }, () => ({ sending: false, sentAt: Number.NEGATIVE_INFINITY, pauseMs: this.#intervalMs, appliedAfter: -1, failing: false }));
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const now = performance.now();
    const { retention, forgetAfterMs } = this.#options;
    for (let shard = 0; shard < this.#beats.length; shard++) {
      const beat = this.#beats[shard]!;
      if (beat.sending || !this.#options.owns(shard)) continue;
      if (this.#options.applied(shard) !== beat.appliedAfter) beat.pauseMs = this.#intervalMs;
      // Half an interval of slack: timer jitter must not turn a 1 s beat into a 2 s one.
      if (now - beat.sentAt < beat.pauseMs - this.#intervalMs / 2) continue;
      beat.sending = true;
      beat.sentAt = now;
      const command: ExpireCommand = { kind: 'expire', now: Date.now(), retention, forgetAfterMs, limit: kExpireLimit, forgetKeys: forgetAfterMs === null ? 0 : kForgetKeys };
      this.#options.send(shard, command).then(
        (removed) => {
          beat.failing = false;
          beat.appliedAfter = this.#options.applied(shard);
          beat.pauseMs = removed > 0 ? this.#intervalMs : Math.min(beat.pauseMs * 2, kQuietMs);
        },
        (error: unknown) => {
          beat.pauseMs = this.#intervalMs;
          if (!beat.failing) this.#options.onError(`shard ${shard} expiry command: ${(error as Error).message}`);
          beat.failing = true;
        },
      ).finally(() => {
        beat.sending = false;
      });
    }
  }
}
