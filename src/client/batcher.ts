/** What the batcher needs of an item: the size of its JSON text in the body. */
export interface Sized {
  readonly bytes: number;
}

export interface BatchLimits {
  readonly maxEvents: number;
  /** Body bytes of the JSON array; one item bigger than this still makes a batch of its own. */
  readonly maxBytes: number;
  readonly lingerMs: number;
}

/**
 * Gathers serialized events into request bodies. A batch leaves (is handed to `emit`) when it
 * holds `maxEvents`, when the next item would take its body past `maxBytes`, when `lingerMs`
 * passed since its first item, or when cut() is called (flush), whichever comes first. The body is
 * a JSON array, so a batch of n items weighs 2 + Σ bytes + (n − 1) commas: counted exactly, a
 * batch never goes over maxBytes unless one item alone does.
 *
 * emit runs synchronously inside add() or cut() (or from the linger timer): the caller queues the
 * batch and never re-enters the batcher from emit.
 */
export class EventBatcher<T extends Sized> {
  readonly #limits: BatchLimits;
  readonly #emit: (items: T[]) => void;
  #items: T[] = [];
  /** Body bytes of the open batch; 0 when it is empty. */
  #bytes = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(limits: BatchLimits, emit: (items: T[]) => void) {
    this.#limits = limits;
    this.#emit = emit;
  }

  /** Items in the open batch. */
  get size(): number {
    return this.#items.length;
  }

  add(item: T): void {
    if (this.#items.length > 0 && this.#bytes + 1 + item.bytes > this.#limits.maxBytes) this.cut();
    this.#items.push(item);
    this.#bytes = this.#items.length === 1 ? 2 + item.bytes : this.#bytes + 1 + item.bytes;
    if (this.#items.length >= this.#limits.maxEvents || this.#bytes >= this.#limits.maxBytes) this.cut();
    // The linger counts from the batch's first event, not its last: a steady trickle still leaves.
    else if (this.#items.length === 1) this.#timer = setTimeout(() => this.cut(), this.#limits.lingerMs);
  }

  /** Sends the open batch now, if there is one. */
  cut(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#items.length === 0) return;
    const items = this.#items;
    this.#items = [];
    this.#bytes = 0;
    this.#emit(items);
  }

  /** Forgets the open batch without sending it, and returns it (destroy). */
  drop(): T[] {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const items = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return items;
  }
}
