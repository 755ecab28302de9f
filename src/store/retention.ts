/**
 * Retention rules: `--retention 'audit.*=365d,debug.*=1d,*=30d'` (an age, on the receive time)
 * and `--retention-bytes 'debug.*=1GiB'` (a topic's stored size in this shard file; the oldest go
 * first). A pattern's `*` matches any run of characters. For each kind the first rule whose
 * pattern matches a topic decides it; a topic no rule matches keeps everything. Parsed at start (a
 * malformed rule stops start-up naming it) and again in every shard's writer, where expiry runs.
 */
import { ConfigError } from '../errors.js';
import { parseDuration } from '../events/time-bound.js';

export interface RetentionRule {
  readonly pattern: string;
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
}

const sizeUnits: Readonly<Record<string, number>> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** `500MiB`, `1GiB`, `10GB`, `4096` as bytes; null when it is none of them. */
export function parseSize(text: string): number | null {
  const match = /^(\d{1,12})(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]) * sizeUnits[match[2] ?? 'B']!;
  return value > 0 ? value : null;
}

/** Age rules, then size rules; throws an Error whose message names the bad rule. '' is no rules. */
export function parseRetention(ages: string, sizes = ''): RetentionRule[] {
  const rules = (text: string, kind: 'age' | 'size'): RetentionRule[] =>
    text.trim() === ''
      ? []
      : text.split(',').map((part) => {
          const [pattern, limit, extra] = part.split('=').map((piece) => piece.trim());
          const value = limit === undefined ? null : kind === 'age' ? parseDuration(limit) : parseSize(limit);
          if (!pattern || !/^[A-Za-z0-9._*-]+$/.test(pattern) || value === null || extra !== undefined) {
            const form = kind === 'age' ? '<age> (age like 90s, 15m, 12h, 30d)' : '<size> (size like 500MiB, 1GiB, 10GB)';
            throw new ConfigError(`retention rule ${JSON.stringify(part.trim())} is not <topic pattern>=${form}`);
          }
          return kind === 'age' ? { pattern, maxAgeMs: value } : { pattern, maxBytes: value };
        });
  return [...rules(ages, 'age'), ...rules(sizes, 'size')];
}

/** The rules as one shard file applies them: a size rule is for the whole topic, whose events spread evenly over the shards by id. */
export function shardShare(rules: readonly RetentionRule[], shardCount: number): RetentionRule[] {
  return rules.map((rule) => (rule.maxBytes === undefined ? rule : { ...rule, maxBytes: rule.maxBytes / shardCount }));
}

export interface TopicLimits {
  readonly maxAgeMs: number | null;
  readonly maxBytes: number | null;
}

/** Decides each topic's limits; remembers the answer per topic (a pattern match is a regex test). */
export class RetentionPolicy {
  readonly #rules: readonly (RetentionRule & { readonly test: RegExp })[];
  readonly #decided = new Map<string, TopicLimits | null>();

  constructor(rules: readonly RetentionRule[]) {
    this.#rules = rules.map((rule) => ({ ...rule, test: new RegExp(`^${rule.pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`) }));
  }

  get active(): boolean {
    return this.#rules.length > 0;
  }

  /** The topic's limits, or null: it keeps everything. */
  limitsOf(topic: string): TopicLimits | null {
    let decided = this.#decided.get(topic);
    if (decided === undefined) {
      const maxAgeMs = this.#rules.find((rule) => rule.maxAgeMs !== undefined && rule.test.test(topic))?.maxAgeMs ?? null;
      const maxBytes = this.#rules.find((rule) => rule.maxBytes !== undefined && rule.test.test(topic))?.maxBytes ?? null;
      decided = maxAgeMs === null && maxBytes === null ? null : { maxAgeMs, maxBytes };
      this.#decided.set(topic, decided);
    }
    return decided;
  }

  /** The topic's maximum age in ms, or null. */
  maxAgeOf(topic: string): number | null {
    return this.limitsOf(topic)?.maxAgeMs ?? null;
  }
}
