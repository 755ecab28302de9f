import type Database from 'better-sqlite3';

/** Topic ids held in memory at most; past it the least recently added is forgotten (and looked up again when needed). */
const kCachedTopics = 65_536;

/**
 * The writer's map from topic name to its id in this shard file (format 2 keeps names once, in
 * `topics`). A new topic gets the next id and its `topics` row inside the commit that first uses
 * it; if that commit rolls back, so does the id here (`rollBack`), so memory and file never
 * disagree. Bounded: a shard with millions of topics costs a B-tree probe for a topic not used
 * lately, not memory per topic.
 */
export class TopicIds {
  readonly #cache = new Map<string, number>();
  readonly #find: Database.Statement<[string], number>;
  readonly #create: Database.Statement<[string, number]>;
  #next: number;
  /** Topics created by the commit in progress. */
  readonly #created: string[] = [];

  constructor(db: Database.Database) {
    this.#find = db.prepare<[string], number>('SELECT id FROM topics WHERE topic = ?').pluck();
    this.#create = db.prepare<[string, number]>('INSERT INTO topics (topic, id, received, unique_count, duplicates) VALUES (?, ?, 0, 0, 0)');
    this.#next = ((db.prepare('SELECT max(id) FROM topics').pluck().get() as number | null) ?? 0) + 1;
  }

  /** The topic's id, or null when this shard has never seen it (nothing is created). */
  find(topic: string): number | null {
    const id = this.#cache.get(topic) ?? this.#find.get(topic);
    return id ?? null;
  }

  /** Inside a write transaction: the topic's id, creating its row when it is new. */
  idOf(topic: string): number {
    const cached = this.#cache.get(topic);
    if (cached !== undefined) return cached; // every event of a known topic: one Map lookup
    let id = this.#find.get(topic);
    if (id === undefined) {
      id = this.#next;
      this.#create.run(topic, id);
      this.#next++;
      this.#created.push(topic);
    }
    this.#remember(topic, id);
    return id;
  }

  committed(): void {
    this.#created.length = 0;
  }

  rollBack(): void {
    for (const topic of this.#created) this.#cache.delete(topic);
    this.#next -= this.#created.length;
    this.#created.length = 0;
  }

  #remember(topic: string, id: number): void {
    if (this.#cache.size >= kCachedTopics) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(topic, id);
  }
}
