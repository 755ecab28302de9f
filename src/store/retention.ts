/**
 * Retention rules: `--retention 'audit.*=365d,debug.*=1d,*=30d'`. Each rule is a topic pattern
 * (`*` matches any run of characters) and the age past which a stored event expires, measured on
 * its receive time. The first rule whose pattern matches a topic decides it; a topic no rule
 * matches is kept forever. Parsed at start (a malformed rule stops start-up naming it) and again,
 * from the same text, in every shard's writer thread, which is where expiry runs.
 */
import { parseDuration } from '../events/time-bound.js';

export interface RetentionRule {
  readonly pattern: string;
  readonly maxAgeMs: number;
}

/** Throws an Error whose message names the bad rule; '' is no rules. */
export function parseRetention(text: string): RetentionRule[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const [pattern, duration, extra] = part.split('=').map((piece) => piece.trim());
    const maxAgeMs = duration === undefined ? null : parseDuration(duration);
    if (!pattern || !/^[A-Za-z0-9._*-]+$/.test(pattern) || maxAgeMs === null || extra !== undefined) {
      throw new Error(`retention rule ${JSON.stringify(part.trim())} is not <topic pattern>=<age> (age like 90s, 15m, 12h, 30d)`);
    }
    return { pattern, maxAgeMs };
  });
}

/** Decides each topic's maximum age; remembers the answer per topic (a pattern match is a regex test). */
export class RetentionPolicy {
  readonly #rules: readonly { readonly test: RegExp; readonly maxAgeMs: number }[];
  readonly #decided = new Map<string, number | null>();

  constructor(rules: readonly RetentionRule[]) {
    this.#rules = rules.map((rule) => ({ test: new RegExp(`^${rule.pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`), maxAgeMs: rule.maxAgeMs }));
  }

  get active(): boolean {
    return this.#rules.length > 0;
  }

  /** The topic's maximum age in ms, or null: kept forever. */
  maxAgeOf(topic: string): number | null {
    let decided = this.#decided.get(topic);
    if (decided === undefined) {
      decided = this.#rules.find((rule) => rule.test.test(topic))?.maxAgeMs ?? null;
      this.#decided.set(topic, decided);
    }
    return decided;
  }
}
