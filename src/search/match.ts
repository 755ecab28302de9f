/**
 * Whether one event satisfies a parsed query, by brute force. This is the definition of a match:
 * an index may only make search faster, never change its answer, so it is tested against this.
 *
 * - Searchable text: every string and number leaf of the payload at any depth (array elements
 *   included), each leaf its own field text, plus `source`. Topic and event_id are matched only by
 *   name (`topic:`, `event_id:`). Object keys, booleans and nulls are no text. A number's text is
 *   `String(n)`, as JSON.stringify writes it (`7.50` in the body is `7.5`: words 7 and 5).
 * - Paths look through arrays at every step: `tags:x` matches `{"tags": ["x"]}` and `user.id:7`
 *   matches `{"user": [{"id": 7}]}`; a path matches if any value it reaches matches.
 * - `field:value` on a payload path is /events' `payload.<path>=value`: a JSON number equals the
 *   value's number form (`count:7` and `count:7.0` match 7), a string equals the value's exact
 *   text (`count:7` matches "7" but `count:7.0` does not). Not as /events (where SQLite reads true
 *   as 1): a boolean equals `true` / `false`. An object or null equals nothing.
 * - `field:>N` and friends compare JSON numbers only; a numeric string is text, not a number.
 * - `field:"phrase"`, `field:pre*` look for words in every text leaf at or below the path.
 */
import type { FieldRef, QueryNode, SearchQuery } from './query.js';
import { globMatches } from './glob.js';
import { wordsOf } from './words.js';

export interface SearchableEvent {
  readonly topic: string;
  readonly event_id: string;
  readonly source: string;
  readonly payload: unknown;
}

export function matchesQuery(query: SearchQuery, event: SearchableEvent): boolean {
  return query === null || new EventTexts(event).matches(query);
}

/** An event's texts as word lists, each computed once per call and only when a term needs it. */
class EventTexts {
  readonly #event: SearchableEvent;
  #all: (readonly string[])[] | undefined;

  constructor(event: SearchableEvent) {
    this.#event = event;
  }

  matches(node: QueryNode): boolean {
    switch (node.kind) {
      case 'and':
        return node.children.every((child) => this.matches(child));
      case 'or':
        return node.children.some((child) => this.matches(child));
      case 'not':
        return !this.matches(node.child);
      case 'words':
        return this.#texts(node.field).some((words) => containsWords(words, node.words, node.prefix));
      case 'equals': {
        const { field, value, number } = node;
        if (field.kind === 'payload') return valuesAt(this.#event.payload, field.path).some((leaf) => (typeof leaf === 'number' ? leaf === number : typeof leaf === 'string' ? leaf === value : typeof leaf === 'boolean' && String(leaf) === value));
        const actual = this.#event[field.name];
        return field.name === 'topic' && value.includes('*') ? globMatches(value, actual) : actual === value;
      }
      case 'compare':
        return valuesAt(this.#event.payload, node.path).some((leaf) => typeof leaf === 'number' && compare(leaf, node.op, node.value));
    }
  }

  #texts(field: FieldRef | null): (readonly string[])[] {
    if (field === null) return (this.#all ??= [wordsOf(this.#event.source), ...textLeaves([this.#event.payload]).map(wordsOf)]);
    if (field.kind === 'envelope') return [wordsOf(this.#event[field.name])];
    return textLeaves(valuesAt(this.#event.payload, field.path)).map(wordsOf);
  }
}

function compare(leaf: number, op: '>' | '>=' | '<' | '<=', value: number): boolean {
  if (op === '>') return leaf > value;
  if (op === '>=') return leaf >= value;
  if (op === '<') return leaf < value;
  return leaf <= value;
}

/** Whether `phrase` occurs in `words` as adjacent words in order; with `prefix`, its last word need only start a word. */
function containsWords(words: readonly string[], phrase: readonly string[], prefix: boolean): boolean {
  const last = phrase.length - 1;
  for (let start = 0; start + last < words.length; start++) {
    let index = 0;
    while (index < last && words[start + index] === phrase[index]) index++;
    if (index === last && (prefix ? words[start + last]!.startsWith(phrase[last]!) : words[start + last] === phrase[last])) return true;
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every non-array value the path reaches, looking through arrays at each step (and at the end). */
export function valuesAt(root: unknown, path: readonly string[]): unknown[] {
  const found: unknown[] = [];
  const pending: [unknown, number][] = [[root, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) pending.push([value[index], depth]);
    } else if (depth === path.length) {
      found.push(value);
    } else if (isObject(value) && Object.hasOwn(value, path[depth]!)) {
      pending.push([value[path[depth]!], depth + 1]);
    }
  }
  return found;
}

/**
 * The string and number leaves at or below the values, in document order, as text: what search
 * searches (an index must index exactly these). An explicit stack: payloads may nest deeply.
 */
export function textLeaves(values: readonly unknown[]): string[] {
  const texts: string[] = [];
  const pending = [...values].reverse();
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') texts.push(value);
    else if (typeof value === 'number') texts.push(String(value));
    else if (typeof value === 'object' && value !== null) {
      const children = Object.values(value);
      for (let index = children.length - 1; index >= 0; index--) pending.push(children[index]);
    }
  }
  return texts;
}
