/**
 * The topics with the most events received, kept exact as commits come in: received counts only
 * ever grow, so a topic can only enter the top by growing, and every growth is offered here. A
 * min-heap of the top `capacity` (with each member's place) costs O(log capacity) per topic a
 * commit touched, and reading the top costs O(capacity), never O(topics).
 */
export class TopTopics {
  readonly #capacity: number;
  readonly #heap: { topic: string; received: number }[] = [];
  readonly #places = new Map<string, number>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The topic's received count is now `received` (never less than before). */
  offer(topic: string, received: number): void {
    if (this.#capacity === 0) return;
    const place = this.#places.get(topic);
    if (place !== undefined) {
      this.#heap[place]!.received = received;
      this.#down(place);
      return;
    }
    if (this.#heap.length < this.#capacity) {
      this.#heap.push({ topic, received });
      this.#places.set(topic, this.#heap.length - 1);
      this.#up(this.#heap.length - 1);
      return;
    }
    const smallest = this.#heap[0]!;
    if (received <= smallest.received) return;
    this.#places.delete(smallest.topic);
    this.#heap[0] = { topic, received };
    this.#places.set(topic, 0);
    this.#down(0);
  }

  /** The top topics, most received first (ties by name), at most `limit`. */
  list(limit = this.#capacity): string[] {
    return [...this.#heap]
      .sort((a, b) => b.received - a.received || (a.topic < b.topic ? -1 : 1))
      .slice(0, limit)
      .map((entry) => entry.topic);
  }

  #up(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (this.#heap[parent]!.received <= this.#heap[child]!.received) return;
      this.#swap(parent, child);
      child = parent;
    }
  }

  #down(index: number): void {
    let parent = index;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.#heap.length && this.#heap[left]!.received < this.#heap[smallest]!.received) smallest = left;
      if (right < this.#heap.length && this.#heap[right]!.received < this.#heap[smallest]!.received) smallest = right;
      if (smallest === parent) return;
      this.#swap(parent, smallest);
      parent = smallest;
    }
  }

  #swap(a: number, b: number): void {
    const first = this.#heap[a]!;
    const second = this.#heap[b]!;
    this.#heap[a] = second;
    this.#heap[b] = first;
    this.#places.set(second.topic, a);
    this.#places.set(first.topic, b);
  }
}
