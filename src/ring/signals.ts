import { kControl, kDoorbell, kHeaderBytes, kReadPosition, kSleeping, kWritePosition } from './layout.js';

/**
 * The doorbell between the ingress thread and a shard's long-lived loop, in the ring's own header:
 * no message crosses on the data path.
 *
 * The consumer sleeps with `Atomics.wait` on the doorbell word, never on a position, and announces
 * it in `kSleeping` first. The producer, after publishing a frame, bumps the doorbell and notifies
 * only when that flag is set. Both sides use sequentially consistent atomics, so this is Dekker's
 * handshake and no wake-up is lost:
 *
 *   consumer: store sleeping=1 · load doorbell d · load write (frames?) · wait(doorbell == d)
 *   producer: store write · load sleeping · (1 ⇒ add doorbell, notify)
 *
 * If the producer read sleeping=0, the consumer's store came later, so its load of `write` sees the
 * new frame and it does not sleep. If the producer read 1, the doorbell moved before or while the
 * consumer waits, and `wait` returns. Control changes (pause, probe, stop) always ring.
 */
export const ShardControl = {
  /** Drain frames as they come. */
  Run: 0,
  /** A commit failed: touch nothing until told to probe (the ingress thread resets the ring meanwhile). */
  Paused: 1,
  /** Try an empty commit; on success carry on running, else pause again. */
  Probe: 2,
  /** Finish the loop and close the database. */
  Stop: 3,
} as const;
export type ShardControl = (typeof ShardControl)[keyof typeof ShardControl];

/** Doorbells due at the end of this turn of the event loop (see `ringSoon`). */
const dueThisTurn = new Set<ShardSignals>();

function ringDue(): void {
  for (const signals of dueThisTurn) signals.ring();
  dueThisTurn.clear();
}

export class ShardSignals {
  readonly #indices: Int32Array;

  constructor(ring: SharedArrayBuffer) {
    this.#indices = new Int32Array(ring, 0, kHeaderBytes / 4);
  }

  get control(): ShardControl {
    return Atomics.load(this.#indices, kControl) as ShardControl;
  }

  /** Producer side, after each write: wakes the consumer only if it may be asleep. */
  ring(): void {
    if (Atomics.load(this.#indices, kSleeping) === 0) return;
    Atomics.add(this.#indices, kDoorbell, 1);
    Atomics.notify(this.#indices, kDoorbell);
  }

  /**
   * Producer side: rings once at the end of this turn of the event loop, however many frames the
   * turn wrote. Waking a sleeping thread (a futex syscall) per frame cost a fifth of the ingress
   * thread under single-event load, and the frames of one turn then go in one transaction; the
   * wait is one poll phase, microseconds.
   */
  ringSoon(): void {
    if (dueThisTurn.size === 0) setImmediate(ringDue);
    dueThisTurn.add(this);
  }

  /** Either side: sets what the loop does next and wakes it. */
  setControl(control: ShardControl): void {
    Atomics.store(this.#indices, kControl, control);
    Atomics.add(this.#indices, kDoorbell, 1);
    Atomics.notify(this.#indices, kDoorbell);
  }

  /** Consumer side: moves the control word from `from` to `to` unless the other side changed it. */
  transition(from: ShardControl, to: ShardControl): boolean {
    return Atomics.compareExchange(this.#indices, kControl, from, to) === from;
  }

  /**
   * Consumer side: blocks until a frame is queued or the control word is not `Run` (at once if
   * either is so already), or until `timeoutMs` passed: the loop has timed work too (expiry).
   */
  sleep(timeoutMs = Number.POSITIVE_INFINITY): void {
    Atomics.store(this.#indices, kSleeping, 1);
    const doorbell = Atomics.load(this.#indices, kDoorbell);
    if (Atomics.load(this.#indices, kWritePosition) === Atomics.load(this.#indices, kReadPosition) && this.control === ShardControl.Run) {
      Atomics.wait(this.#indices, kDoorbell, doorbell, timeoutMs);
    }
    Atomics.store(this.#indices, kSleeping, 0);
  }

  /** Consumer side: blocks while the control word is `Paused`. */
  waitWhilePaused(): void {
    for (;;) {
      const doorbell = Atomics.load(this.#indices, kDoorbell);
      if (this.control !== ShardControl.Paused) return;
      Atomics.wait(this.#indices, kDoorbell, doorbell);
    }
  }
}
