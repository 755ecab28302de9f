import { mulberry32 } from '../../src/publisher/generate.js';

/**
 * Seeded realistic log events for the search benchmarks (spec/search.md, "Measure"): a message of
 * 100–250 bytes of words drawn from a vocabulary with a Zipf–Mandelbrot frequency (a real log head
 * list, then pronounceable pseudo-words), about 60 % of messages carrying one high-cardinality
 * token (a request id, an IP, a duration, a path with an id), a 32-hex trace id in every payload,
 * skewed levels and services (topic `svc.<service>`), timestamps spread evenly over a span with a
 * little jitter and a few late arrivals. The same options give the same events, byte for byte.
 *
 * `rareWord` is planted exactly once in each run of `rareEvery` events (at a seeded position), and
 * once more in a shorter last run, so a stream of n events holds it ceil(n / rareEvery) times.
 */
export interface LogLineOptions {
  readonly seed: number;
  /** Events in the stream: timestamps spread evenly over `spanMs` for this many. */
  readonly count: number;
  readonly startMs?: number;
  /** Default 24 h. */
  readonly spanMs?: number;
  /** Vocabulary size (default 5000). */
  readonly vocabulary?: number;
  /** Zipf–Mandelbrot exponent s and shift q: p(rank r, from 1) ∝ 1 / (r + q)^s. Default 1.05 and 2.7. */
  readonly zipfS?: number;
  readonly zipfQ?: number;
  readonly rareWord?: string;
  readonly rareEvery?: number;
  /** Timestamp jitter, ± ms, uniform (default 2000). */
  readonly jitterMs?: number;
  /** Share of events that arrive late, their timestamp up to `lateMaxMs` earlier (default 1e-4 and 5 min). */
  readonly lateFraction?: number;
  readonly lateMaxMs?: number;
  /**
   * Event ids: false (default) ULID-like, the event time first, so each topic's ids arrive nearly in
   * order (UUIDv7, ULID, a shipper's time + counter); true: random (UUIDv4-like), which scatters the
   * inserts over the shard's (topic_id, event_id) index and writes far more pages per commit.
   */
  readonly randomIds?: boolean;
}

export interface LogEvent {
  readonly topic: string;
  readonly eventId: string;
  readonly timestamp: string;
  /** `timestamp` as epoch ms (what Date.parse gives back). */
  readonly timeMs: number;
  readonly source: string;
  /** JSON text: `{ level, msg, service, latency_ms, user: { id }, trace_id }`. */
  readonly payload: string;
}

export const kServices = [
  'gateway', 'auth', 'checkout', 'cart', 'catalog', 'search', 'payments', 'orders', 'users', 'sessions',
  'inventory', 'shipping', 'pricing', 'notifications', 'email', 'recommendations', 'reviews', 'media', 'analytics', 'billing',
] as const;

const kLevels = [['info', 0.72], ['debug', 0.15], ['warn', 0.09], ['error', 0.04]] as const;

/** The head of the vocabulary: words frequent in real service logs, most frequent first (roughly). */
const kHead = (
  'request to the from for user with in of completed ok received response status handler failed error sending ' +
  'connection timeout retry db query cache hit miss started finished processing job id session token ' +
  'upstream downstream service client server http get post put delete api call took ms returned ' +
  'invalid missing not found unauthorized forbidden internal unavailable backend pool worker queue message event ' +
  'payload validation schema update insert select commit rollback transaction lock acquired released ' +
  'checkout order payment card declined approved refund shipment tracking stock reserved item cart price ' +
  'config loaded reload health check ready live probe metrics flush batch written bytes records ' +
  'tls handshake certificate expired dns lookup resolved socket closed reset refused peer remote local ' +
  'login logout password reset mfa verified account created deleted updated profile email sent ' +
  'rate limit exceeded throttled backoff circuit breaker open half closed fallback degraded slow'
).split(' ');

const kConsonants = ['b', 'c', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'ch', 'st', 'tr', 'pl', 'gr', 'sh'];
const kVowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ea'];

function buildVocabulary(size: number, random: () => number): string[] {
  const words: string[] = [];
  const seen = new Set<string>();
  for (const word of kHead) if (words.length < size && !seen.has(word)) words.push(word), seen.add(word);
  while (words.length < size) {
    // Later (rarer) words tend to be longer, as in real text.
    const syllables = 2 + Math.floor(random() * (words.length < 1000 ? 2 : 3));
    let word = '';
    for (let index = 0; index < syllables; index++) word += kConsonants[Math.floor(random() * kConsonants.length)]! + kVowels[Math.floor(random() * kVowels.length)]!;
    if (random() < 0.3) word += kConsonants[Math.floor(random() * 17)]!;
    if (!seen.has(word)) words.push(word), seen.add(word);
  }
  return words;
}

/** Cumulative distribution of p(rank) ∝ 1 / (rank + q)^s, ranks from 1. */
function zipfCdf(size: number, s: number, q: number): Float64Array {
  const cdf = new Float64Array(size);
  let total = 0;
  for (let rank = 1; rank <= size; rank++) cdf[rank - 1] = total += 1 / (rank + q) ** s;
  for (let index = 0; index < size; index++) cdf[index]! /= total;
  return cdf;
}

function pick(cdf: Float64Array, u: number): number {
  let low = 0;
  let high = cdf.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cdf[middle]! < u) low = middle + 1;
    else high = middle;
  }
  return low;
}

const hex = (random: () => number, digits: number): string => {
  let text = '';
  while (text.length < digits) text += Math.floor(random() * 0x100000000).toString(16).padStart(8, '0');
  return text.slice(0, digits);
};

export class LogLines {
  readonly vocabulary: readonly string[];
  readonly rareWord: string;
  /** Start and end (exclusive) of the nominal span; jitter and late events can fall slightly outside. */
  readonly startMs: number;
  readonly spanMs: number;
  readonly #options: Required<LogLineOptions>;
  readonly #random: () => number;
  readonly #wordCdf: Float64Array;
  readonly #serviceCdf: Float64Array;
  readonly #sources: string[][];
  readonly #runPrefix: string;
  #index = 0;
  #plantAt = -1;

  constructor(options: LogLineOptions) {
    this.#options = {
      startMs: Date.parse('2025-10-22T00:00:00Z'),
      spanMs: 24 * 3600_000,
      vocabulary: 5000,
      zipfS: 1.05,
      zipfQ: 2.7,
      rareWord: 'quetzalcoatlus',
      rareEvery: 1_000_000,
      jitterMs: 2000,
      lateFraction: 1e-4,
      lateMaxMs: 5 * 60_000,
      randomIds: false,
      ...options,
    };
    const setup = mulberry32(this.#options.seed ^ 0x5bd1e995);
    this.vocabulary = buildVocabulary(this.#options.vocabulary, setup);
    if (this.vocabulary.includes(this.#options.rareWord)) throw new Error(`the rare word ${this.#options.rareWord} is in the vocabulary`);
    this.rareWord = this.#options.rareWord;
    this.#wordCdf = zipfCdf(this.vocabulary.length, this.#options.zipfS, this.#options.zipfQ);
    this.#serviceCdf = zipfCdf(kServices.length, 0.8, 1);
    this.#sources = kServices.map((service) => Array.from({ length: 4 }, () => `${service}-${hex(setup, 5)}`));
    this.#runPrefix = hex(setup, 4);
    this.startMs = this.#options.startMs;
    this.spanMs = this.#options.spanMs;
    this.#random = mulberry32(this.#options.seed);
  }

  /** The chance that one drawn word is the word of this rank (from 1). */
  wordProbability(rank: number): number {
    return this.#wordCdf[rank - 1]! - (rank > 1 ? this.#wordCdf[rank - 2]! : 0);
  }

  next(): LogEvent {
    const random = this.#random;
    const index = this.#index++;
    const { rareEvery, count } = this.#options;
    if (index % rareEvery === 0) this.#plantAt = index + Math.floor(random() * Math.min(rareEvery, count - index));

    const serviceIndex = pick(this.#serviceCdf, random());
    const service = kServices[serviceIndex]!;
    const u = random();
    let cumulative = 0;
    let level: string = kLevels[0][0];
    for (const [name, share] of kLevels) if (u < (cumulative += share)) { level = name; break; }

    const target = 100 + Math.floor(random() * 151);
    const words: string[] = [];
    let length = -1;
    while (length < target) {
      const word = this.vocabulary[pick(this.#wordCdf, random())]!;
      words.push(word);
      length += word.length + 1;
    }
    words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
    if (random() < 0.6) {
      const kind = random();
      const token =
        kind < 0.35 ? `request_id=${hex(random, 12)}`
        : kind < 0.55 ? `client=10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`
        : kind < 0.8 ? `took ${Math.floor(random() * 2000)}ms`
        : `path=/api/v2/${this.vocabulary[pick(this.#wordCdf, random())]}/${Math.floor(random() * 1e6)}`;
      words.splice(1 + Math.floor(random() * words.length), 0, token);
    }
    if (index === this.#plantAt) words.splice(1 + Math.floor(random() * words.length), 0, this.rareWord);
    const msg = words.join(' ');

    let timeMs = this.startMs + Math.floor(((index + 0.5) * this.spanMs) / count) + Math.round((random() * 2 - 1) * this.#options.jitterMs);
    if (random() < this.#options.lateFraction) timeMs -= Math.floor(random() * this.#options.lateMaxMs);
    const latency = Math.round(Math.exp(3 + 1.2 * (random() + random() + random() - 1.5)) * 10) / 10;
    const userId = 1 + Math.floor(random() * 50_000);
    const traceId = hex(random, 32);
    const sources = this.#sources[serviceIndex]!;
    const unique = `${hex(random, 8)}-${index.toString(36)}`;
    return {
      topic: `svc.${service}`,
      eventId: this.#options.randomIds ? `${unique}-${this.#runPrefix}` : `${timeMs.toString(36)}-${this.#runPrefix}-${unique}`,
      timestamp: new Date(timeMs).toISOString(),
      timeMs,
      source: sources[Math.floor(random() * sources.length)]!,
      payload: JSON.stringify({ level, msg, service, latency_ms: latency, user: { id: userId }, trace_id: traceId }),
    };
  }
}
