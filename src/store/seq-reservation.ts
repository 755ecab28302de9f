/**
 * Seqs are handed out only from a range recorded durably beforehand, so no seq a reader may have
 * seen is ever given to another event, whatever a crash or a power cut takes with it (under
 * `--sync interval` or `normal` a cut may lose committed events, and with them the shards' record
 * of their seqs): a restart starts past the whole recorded range. A cursor therefore never skips.
 * The price: seqs jump by up to one block at each restart, and every block costs the ingress
 * thread one small durable write (two fsyncs), once per ~10^6 events.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, OverloadedError } from '../errors.js';
import { writeFileDurably } from './data-dir.js';

const kFile = 'seq-reservation.json';
/** Seqs reserved per durable write. */
export const kSeqBlock = 2 ** 20;

export class SeqReservation {
  readonly #path: string;
  /** The highest seq recorded as reserved on disk. */
  #through: number;

  private constructor(path: string, through: number) {
    this.#path = path;
    this.#through = through;
  }

  /**
   * Reads the data dir's reservation and answers the first seq to hand out: past every seq the
   * shards hold and every seq reserved before (some of which readers may have seen), with a new
   * block already reserved for it.
   */
  static open(dataDir: string, lastStoredSeq: number): { readonly reservation: SeqReservation; readonly next: number } {
    const path = join(dataDir, kFile);
    const reserved = existsSync(path) ? readThrough(path) : 0;
    const reservation = new SeqReservation(path, reserved);
    const next = Math.max(lastStoredSeq, reserved) + 1;
    try {
      reservation.#write(next - 1 + kSeqBlock);
    } catch (error) {
      throw new ConfigError(`${path} cannot be written: ${(error as Error).message}`);
    }
    return { reservation, next };
  }

  get through(): number {
    return this.#through;
  }

  /** Makes sure `seq` may be handed out: past the reservation, a block beyond it is recorded first. */
  cover(seq: number): void {
    if (seq <= this.#through) return;
    try {
      this.#write(seq + kSeqBlock);
    } catch (error) {
      throw new OverloadedError(`cannot reserve seqs in ${this.#path}: ${(error as Error).message}`);
    }
  }

  #write(through: number): void {
    writeFileDurably(this.#path, `${JSON.stringify({ through })}\n`);
    this.#through = through;
  }
}

function readThrough(path: string): number {
  try {
    const { through } = JSON.parse(readFileSync(path, 'utf8')) as { through?: unknown };
    if (typeof through !== 'number' || !Number.isSafeInteger(through) || through < 0) throw new ConfigError('no valid "through" field');
    return through;
  } catch (error) {
    throw new ConfigError(`${path} is unreadable: ${(error as Error).message}`);
  }
}
