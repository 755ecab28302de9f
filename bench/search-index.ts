/**
 * What a search index costs and buys (issue #24 item 4; spec/search.md, "Measure"): the measurement
 * that picks the indexing design, not the feature. Not part of `npm run bench`; no service involved:
 *   node --import tsx bench/search-index.ts [--events 1000000] [--seed 1] [--batch 1000] [--jobs 2]
 *        [--variants none,fts5,fts5-detail-column,fts5-detail-none,time-narrow,time-blocks,fts5-beside]
 *        [--runs 20] [--budget-s 30] [--brute-runs 3] [--verify | --no-verify] [--random-ids] [--keep]
 *
 * One shard file per variant in a temp dir, made by the service's own createShardFile (the schema of
 * src/store/tables.ts, auto_vacuum, then configure(): WAL, synchronous=NORMAL, 64 MiB cache), filled
 * with the same seeded log events (bench/lib/log-lines.ts). The fill is interleaved: each batch of
 * `--batch` events is generated once, then committed into every variant in turn (order rotated
 * per batch), one IMMEDIATE transaction per variant and batch doing what ShardDb's commit does
 * (TopicIds, INSERT OR IGNORE, per-topic and total counters) plus the variant's index rows. Only
 * the commit is measured (process.cpuUsage, wall time), not the generation; an index variant's
 * commit includes cutting the searchable text out of the payload JSON (JSON.parse + leaves, about
 * 3 µs of an event's cost). With `--jobs 2` (the default on 2+ cores) the variants are split over
 * two child processes filling at the same time, each interleaving its own share: CPU-µs per event
 * are each process's own; wall rates are under the same load on both sides.
 *
 * Variants (every index has rowid = seq, contentless, `contentless_delete=1`, unicode61 remove_diacritics 2):
 *   none                rows only: the baseline, and the brute-force scans (instr(lower(payload)), json_extract)
 *   fts5                + FTS5 over source + every string/number leaf of the payload, joined by '\n', in the commit
 *   fts5-detail-column  the same, detail=column (no positions: a phrase must be checked by the matcher)
 *   fts5-detail-none    the same, detail=none (no columns or positions either)
 *   time-narrow         fts5 + event_time (seq INTEGER PRIMARY KEY, ms, topic_id): histograms and topic
 *                       counts join each match to this narrow table instead of the event row
 *   time-blocks         fts5 + time_blocks (seq >> 10 → min and max event time): a histogram counts whole
 *                       seq ranges whose events all fall in one bucket inside FTS5 (rowid BETWEEN), and
 *                       joins matches to their rows only in blocks that may straddle a bucket edge
 *   fts5-beside         the commit writes rows only; an indexer (same thread here, timed apart) reads
 *                       every 10 000 new rows back and indexes them in one transaction into a file beside
 *                       the shard's (its own writer lock, so a thread of its own would not block commits);
 *                       queried through ATTACH
 * Queries, warm (one run first), each at least --runs times (more while under 0.5 s; fewer only when
 * one query's --budget-s runs out, at least 5; the brute force --brute-runs times): first page newest
 * first (100 events with their topic names) of the planted rare word, two common words ANDed,
 * level:error plus a word (the field value's words join the MATCH as a prefilter, json_extract
 * decides); a 60-bucket histogram of a common word by event timestamp over all events; the top 10
 * payload.service and (none, fts5 and time-narrow only: the other variants would repeat fts5's
 * path) the top 10 topics over that word's matches. Event ids are time-ordered (ULID-like) unless
 * `--random-ids` (UUIDv4-like: the identity index then takes random inserts, which roughly triples
 * the row commit's cost at 10^6 and so flatters every ratio to `none`). `--verify` (default up to 2e6
 * events) also answers every query with the real matcher (src/search/match.ts) over the rows and
 * checks every variant's answers against it.
 * Output: SYSTEM, the command, BENCH lines, CHECK lines, then one table (figures × variants).
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { matchesQuery, textLeaves } from '../src/search/match.js';
import { parseSearchQuery } from '../src/search/query.js';
import { configure, createShardFile } from '../src/store/shard-file.js';
import { eventColumns, rowBytes } from '../src/store/tables.js';
import { TopicIds } from '../src/store/topic-ids.js';
import { LogLines, type LogEvent } from './lib/log-lines.js';
import { benchLine, type RatedResult } from './lib/report.js';
import { systemInfo } from './lib/system.js';

const kAllVariants = ['none', 'fts5', 'fts5-detail-column', 'fts5-detail-none', 'time-narrow', 'time-blocks', 'fts5-beside'] as const;
type VariantName = (typeof kAllVariants)[number];
type HistogramPath = 'scan' | 'join-events' | 'narrow' | 'blocks';

interface Variant {
  readonly name: VariantName;
  /** The FTS5 table's options after the column, or null: no index. */
  readonly fts: string | null;
  readonly narrow: boolean;
  readonly blocks: boolean;
  /** The index lives in `<name>.search.db`, written behind the commit. */
  readonly beside: boolean;
  readonly histogram: HistogramPath;
  /** Relative fill cost, to split the variants over the jobs. */
  readonly weight: number;
}

const kTokenizer = "tokenize = 'unicode61 remove_diacritics 2'";
const kFts = `content = '', contentless_delete = 1, ${kTokenizer}`;
const variant = (name: VariantName, fts: string | null, options: Partial<Variant> = {}): Variant => ({
  name, fts, narrow: false, blocks: false, beside: false, histogram: fts ? 'join-events' : 'scan', weight: fts ? 3 : 1, ...options,
});
const kVariants: Readonly<Record<VariantName, Variant>> = {
  none: variant('none', null),
  fts5: variant('fts5', kFts),
  'fts5-detail-column': variant('fts5-detail-column', `content = '', contentless_delete = 1, detail = column, ${kTokenizer}`),
  'fts5-detail-none': variant('fts5-detail-none', `content = '', contentless_delete = 1, detail = none, ${kTokenizer}`),
  'time-narrow': variant('time-narrow', kFts, { narrow: true, histogram: 'narrow' }),
  'time-blocks': variant('time-blocks', kFts, { blocks: true, histogram: 'blocks' }),
  'fts5-beside': variant('fts5-beside', kFts, { beside: true }),
};
/** Seqs per time block: 1024 events of one shard span ~1.5 min at 10^6 events a day. */
const kBlockShift = 10;
/** fts5-beside: the indexer runs after every this many events (and once at the end). */
const kIndexerEvents = 10_000;
/**
 * FTS5 narrows to a rowid range only when the bounds are bound as integers: a JS number binds as a
 * REAL, and then FTS5 walks the whole doclist (2.1 ms instead of 0.06 ms for 1024 rows of 10^5).
 */
const kMaxRowid = 9223372036854775807n;

const { values } = parseArgs({
  allowNegative: true,
  options: {
    events: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '1000' },
    variants: { type: 'string', default: kAllVariants.join(',') },
    jobs: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    runs: { type: 'string', default: '20' },
    'budget-s': { type: 'string', default: '30' },
    'brute-runs': { type: 'string', default: '3' },
    verify: { type: 'boolean' },
    keep: { type: 'boolean', default: false },
    'random-ids': { type: 'boolean', default: false },
    // Internal: a fill job (--jobs > 1) into --dir, printing FILL lines.
    'fill-child': { type: 'boolean', default: false },
    dir: { type: 'string' },
  },
});
const total = Number(values.events);
const seed = Number(values.seed);
const batchSize = Number(values.batch);
const jobs = Number(values.jobs);
const minRuns = Number(values.runs);
const budgetMs = Number(values['budget-s']) * 1000;
const bruteRuns = Number(values['brute-runs']);
const verify = values.verify ?? total <= 2_000_000;
const randomIds = values['random-ids'] === true;
const lines = (): LogLines => new LogLines({ seed, count: total, randomIds });
if (!Number.isInteger(total) || total < 1000) throw new Error(`--events must be an integer >= 1000, got ${values.events}`);
if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch must be a positive integer, got ${values.batch}`);
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a positive integer, got ${values.jobs}`);
const variantNames = values.variants.split(',').map((name) => name.trim()) as VariantName[];
for (const name of variantNames) if (!kAllVariants.includes(name)) throw new Error(`--variants takes names from ${kAllVariants.join(', ')}; got ${name}`);
if (!values['fill-child'] && !variantNames.includes('none')) variantNames.unshift('none'); // the baseline of every ratio
const variants = variantNames.map((name) => kVariants[name]);

const log = (line: string): void => void process.stderr.write(`[search-index${values['fill-child'] ? ` ${variantNames.join(',')}` : ''}] ${line}\n`);

// --- the searchable text: what match.ts searches, as one string per event ----------------------

/** source, then every string and number leaf of the payload in document order (arrays included), joined by '\n'. */
function searchableText(source: string, payload: string): string {
  return [source, ...textLeaves([JSON.parse(payload)])].join('\n');
}

// --- one shard file per variant ------------------------------------------------------------------

/** What a fill measured of one variant. */
interface Filled {
  readonly name: VariantName;
  readonly inserted: number;
  /** The commits: CPU (user + system) and wall time. */
  readonly cpuUs: number;
  readonly wallMs: number;
  /** fts5-beside: the indexer behind the commit; 0 elsewhere. */
  readonly indexerCpuUs: number;
  readonly indexerWallMs: number;
  /** The shard file (and the index file beside it) after a final checkpoint. */
  readonly fileBytes: number;
  /** Of those, the pages of the index's tables (dbstat): FTS5 shadow tables, event_time, time_blocks. */
  readonly indexBytes: number;
}

const searchPath = (shardPath: string): string => shardPath.replace(/\.db$/, '.search.db');

function createSearchTable(db: Database.Database, variant: Variant): void {
  db.exec(`CREATE VIRTUAL TABLE search USING fts5(text, ${variant.fts})`);
}

class VariantStore {
  readonly variant: Variant;
  readonly path: string;
  readonly db: Database.Database;
  /** fts5-beside: the index file's connection. */
  readonly side: Database.Database | null = null;
  cpuUs = 0;
  wallMs = 0;
  indexerCpuUs = 0;
  indexerWallMs = 0;
  inserted = 0;
  readonly #commit: (rows: readonly LogEvent[], firstSeq: number) => void;
  readonly #index: (() => void) | null = null;

  constructor(variant: Variant, dir: string) {
    this.variant = variant;
    this.path = join(dir, `${variant.name}.db`);
    createShardFile({ path: this.path, shard: 0, shardCount: 1 });
    const db = (this.db = new Database(this.path, { timeout: 0 }));
    configure(db);
    if (variant.fts && !variant.beside) createSearchTable(db, variant);
    if (variant.narrow) db.exec('CREATE TABLE event_time (seq INTEGER PRIMARY KEY, ms INTEGER NOT NULL, topic_id INTEGER NOT NULL) STRICT');
    if (variant.blocks) db.exec('CREATE TABLE time_blocks (block INTEGER PRIMARY KEY, min_ms INTEGER NOT NULL, max_ms INTEGER NOT NULL) STRICT');
    if (variant.beside) {
      const side = (this.side = new Database(searchPath(this.path), { timeout: 0 }));
      configure(side);
      createSearchTable(side, variant);
      side.exec("CREATE TABLE indexed (id INTEGER PRIMARY KEY CHECK (id = 0), seq INTEGER NOT NULL) STRICT; INSERT INTO indexed VALUES (0, 0)");
      const next = db.prepare('SELECT seq, source, payload FROM events WHERE seq > ? ORDER BY seq').raw();
      const insertText = side.prepare('INSERT INTO search (rowid, text) VALUES (?, ?)');
      const lastIndexed = side.prepare('SELECT seq FROM indexed').pluck();
      const saveIndexed = side.prepare('UPDATE indexed SET seq = ?');
      this.#index = side.transaction(() => {
        let last = lastIndexed.get() as number;
        for (const [seq, source, payload] of next.iterate(BigInt(last)) as Iterable<[number, string, string]>) {
          insertText.run(seq, searchableText(source, payload));
          last = seq;
        }
        saveIndexed.run(last);
      }).immediate;
    }
    const topicIds = new TopicIds(db);
    const insert = db.prepare('INSERT OR IGNORE INTO events (seq, topic_id, event_id, timestamp, source, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const addTopic = db.prepare('UPDATE topics SET received = received + ?, unique_count = unique_count + ?, duplicates = duplicates + ?, stored_bytes = stored_bytes + ? WHERE topic = ?');
    const addCounters = db.prepare('UPDATE counters SET received = received + ?, unique_processed = unique_processed + ?, duplicate_dropped = duplicate_dropped + ?, rejected = rejected + ?, last_seq = max(last_seq, ?) WHERE id = 0');
    const indexText = variant.fts && !variant.beside ? db.prepare('INSERT INTO search (rowid, text) VALUES (?, ?)') : null;
    const indexTime = variant.narrow ? db.prepare('INSERT INTO event_time (seq, ms, topic_id) VALUES (?, ?, ?)') : null;
    const indexBlock = variant.blocks
      ? db.prepare('INSERT INTO time_blocks (block, min_ms, max_ms) VALUES (?, ?, ?) ON CONFLICT (block) DO UPDATE SET min_ms = min(min_ms, excluded.min_ms), max_ms = max(max_ms, excluded.max_ms)')
      : null;
    this.#commit = db.transaction((rows: readonly LogEvent[], firstSeq: number) => {
      const receivedAt = Date.now();
      const tallies = new Map<string, { stored: number; bytes: number; received: number }>();
      let unique = 0;
      let block = -1;
      let blockMin = 0;
      let blockMax = 0;
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!;
        const seq = firstSeq + index;
        const topicId = topicIds.idOf(row.topic);
        const stored = insert.run(seq, topicId, row.eventId, row.timestamp, row.source, row.payload, receivedAt).changes;
        if (stored) {
          if (indexText) indexText.run(seq, searchableText(row.source, row.payload));
          if (indexTime || indexBlock) {
            const ms = Date.parse(row.timestamp);
            if (indexTime) indexTime.run(seq, ms, topicId);
            if (indexBlock) {
              const own = seq >> kBlockShift;
              if (own !== block) {
                if (block >= 0) indexBlock.run(block, blockMin, blockMax);
                block = own;
                blockMin = blockMax = ms;
              } else if (ms < blockMin) blockMin = ms;
              else if (ms > blockMax) blockMax = ms;
            }
          }
        }
        unique += stored;
        let tally = tallies.get(row.topic);
        if (!tally) tallies.set(row.topic, (tally = { stored: 0, bytes: 0, received: 0 }));
        tally.received++;
        tally.stored += stored;
        if (stored) tally.bytes += rowBytes(row.eventId, row.timestamp, row.source, row.payload);
      }
      if (indexBlock && block >= 0) indexBlock.run(block, blockMin, blockMax);
      for (const [topic, tally] of tallies) addTopic.run(tally.received, tally.stored, tally.received - tally.stored, tally.bytes, topic);
      addCounters.run(rows.length, unique, rows.length - unique, 0, firstSeq + rows.length - 1);
      this.inserted += unique;
    }).immediate;
  }

  commit(rows: readonly LogEvent[], firstSeq: number): void {
    const cpu = process.cpuUsage();
    const started = performance.now();
    this.#commit(rows, firstSeq);
    this.wallMs += performance.now() - started;
    const used = process.cpuUsage(cpu);
    this.cpuUs += used.user + used.system;
  }

  /** fts5-beside: index the rows committed since the last call, in one transaction of the index file. */
  indexBehind(): void {
    if (!this.#index) return;
    const cpu = process.cpuUsage();
    const started = performance.now();
    this.#index();
    this.indexerWallMs += performance.now() - started;
    const used = process.cpuUsage(cpu);
    this.indexerCpuUs += used.user + used.system;
  }

  finish(): Filled {
    const pagesOf = (db: Database.Database): number =>
      (db.prepare("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'search%' OR name IN ('event_time', 'time_blocks')").pluck().get() as number);
    let fileBytes = 0;
    let indexBytes = 0;
    for (const [db, path] of [[this.db, this.path], ...(this.side ? [[this.side, searchPath(this.path)] as const] : [])] as const) {
      db.pragma('wal_checkpoint(TRUNCATE)');
      fileBytes += statSync(path).size;
      indexBytes += pagesOf(db);
      db.close();
    }
    const { name } = this.variant;
    return { name, inserted: this.inserted, cpuUs: this.cpuUs, wallMs: this.wallMs, indexerCpuUs: this.indexerCpuUs, indexerWallMs: this.indexerWallMs, fileBytes, indexBytes };
  }
}

/** Fills one file per variant with the same events, interleaved by batch; closes them. */
function fill(variantList: readonly Variant[], dir: string): Filled[] {
  const generator = lines();
  const stores = variantList.map((each) => new VariantStore(each, dir));
  const started = performance.now();
  let generateMs = 0;
  for (let done = 0, round = 0; done < total; done += batchSize, round++) {
    const begin = performance.now();
    const rows = Array.from({ length: Math.min(batchSize, total - done) }, () => generator.next());
    generateMs += performance.now() - begin;
    for (let index = 0; index < stores.length; index++) stores[(index + round) % stores.length]!.commit(rows, done + 1);
    if (Math.floor((done + rows.length) / kIndexerEvents) > Math.floor(done / kIndexerEvents)) for (const store of stores) store.indexBehind();
    if (round % 1000 === 999) log(`filled ${done + rows.length} of ${total} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  for (const store of stores) store.indexBehind();
  log(`filled in ${((performance.now() - started) / 1000).toFixed(1)} s (generating ${(generateMs / 1000).toFixed(1)} s)`);
  return stores.map((store) => store.finish());
}

/** Splits the variants over `jobs` child processes (heaviest first onto the lightest job), each filling its share. */
async function fillInJobs(dir: string): Promise<Filled[]> {
  if (jobs === 1) return fill(variants, dir);
  const groups = Array.from({ length: Math.min(jobs, variants.length) }, () => ({ weight: 0, names: [] as VariantName[] }));
  for (const each of [...variants].sort((a, b) => b.weight - a.weight)) {
    const lightest = groups.reduce((a, b) => (b.weight < a.weight ? b : a));
    lightest.weight += each.weight;
    lightest.names.push(each.name);
  }
  const script = fileURLToPath(import.meta.url);
  const outputs = await Promise.all(
    groups.map(
      (group) =>
        new Promise<Filled[]>((resolve, reject) => {
          const args = [...process.execArgv, script, '--fill-child', '--dir', dir, '--variants', group.names.join(','), '--events', String(total), '--seed', String(seed), '--batch', String(batchSize), ...(randomIds ? ['--random-ids'] : [])];
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
          let stdout = '';
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
          child.on('error', reject);
          child.on('exit', (code) => {
            if (code !== 0) return reject(new Error(`fill job ${group.names.join(',')} exited with ${code}`));
            resolve(stdout.split('\n').filter((line) => line.startsWith('FILL ')).map((line) => JSON.parse(line.slice(5)) as Filled));
          });
        }),
    ),
  );
  const filled = outputs.flat();
  return variants.map((each) => filled.find((result) => result.name === each.name)!);
}

// --- timing ---------------------------------------------------------------------------------------

interface Timing {
  readonly p50: number;
  readonly p99: number;
  readonly runs: number;
}

/** One warm-up run, then at least `least` runs (and more, up to `most`, while under half a second in all), stopping early only at `budget` ms with 5 done. */
function timed<T>(run: () => T, least: number, most: number, budget: number): { timing: Timing; result: T } {
  const result = run();
  const times: number[] = [];
  const started = performance.now();
  while (times.length < most) {
    const elapsed = performance.now() - started;
    if (times.length >= least && elapsed > 500) break;
    if (times.length >= Math.min(5, least) && elapsed > budget) break;
    const begin = performance.now();
    run();
    times.push(performance.now() - begin);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { timing: { p50: at(0.5), p99: at(0.99), runs: times.length }, result };
}

// --- the queries ----------------------------------------------------------------------------------

const kCommon = 'completed';
const kPair = ['connection', 'timeout'] as const;
const kFieldWord = 'failed';
const kLevel = 'error';
const kBuckets = 60;

type Figure = 'rare' | 'pair' | 'field' | 'histogram' | 'top-service' | 'top-topic';
const kFigures: readonly Figure[] = ['rare', 'pair', 'field', 'histogram', 'top-service', 'top-topic'];
/** The figures timed on a variant: top 10 topic only where its path differs from fts5's (the narrow table). */
const figuresOf = (variant: Variant): readonly Figure[] => (variant.name === 'none' || variant.name === 'fts5' || variant.narrow ? kFigures : kFigures.filter((figure) => figure !== 'top-topic'));
interface Answer {
  /** Seqs of a page; counts of a histogram; [value, count] of a top. */
  readonly value: unknown;
  /** A page's length, a histogram's total, the sum of a top's 10 counts. */
  readonly matches: number;
}
type Query = () => Answer;

const ftsWord = (word: string): string => `"${word}"`;

function bruteQueries(db: Database.Database, since: number, step: number): Record<Figure, Query> {
  const page = (where: string) => db.prepare(`SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id WHERE ${where} ORDER BY e.seq DESC LIMIT 100`);
  const rare = page('instr(lower(e.payload), ?) > 0');
  const pair = page('instr(lower(e.payload), ?) > 0 AND instr(lower(e.payload), ?) > 0');
  const field = page("instr(lower(e.payload), ?) > 0 AND json_extract(e.payload, '$.level') = ?");
  const until = since + step * kBuckets;
  const histogram = db.prepare(`
    SELECT CAST((ms - ?) / ? AS INTEGER) AS bucket, count(*) AS n FROM (
      SELECT CAST(round(unixepoch(e.timestamp, 'subsec') * 1000) AS INTEGER) AS ms FROM events e WHERE instr(lower(e.payload), ?) > 0
    ) WHERE ms >= ? AND ms < ? GROUP BY bucket`).raw();
  const topService = db.prepare("SELECT json_extract(e.payload, '$.service') AS v, count(*) AS n FROM events e WHERE instr(lower(e.payload), ?) > 0 GROUP BY v ORDER BY n DESC, v LIMIT 10").raw();
  const topTopic = db.prepare('SELECT t.topic, c.n FROM (SELECT e.topic_id AS id, count(*) AS n FROM events e WHERE instr(lower(e.payload), ?) > 0 GROUP BY e.topic_id) c JOIN topics t ON t.id = c.id ORDER BY c.n DESC, t.topic LIMIT 10').raw();
  return {
    rare: () => pageAnswer(rare.all(rareWord)),
    pair: () => pageAnswer(pair.all(kPair[0], kPair[1])),
    field: () => pageAnswer(field.all(kFieldWord, kLevel)),
    histogram: () => histogramAnswer(histogram.all(since, step, kCommon, since, until) as [number, number][]),
    'top-service': () => topAnswer(topService.all(kCommon) as [string, number][]),
    'top-topic': () => topAnswer(topTopic.all(kCommon) as [string, number][]),
  };
}

interface BlockStats {
  rangeCounts: number;
  straddlingBlocks: number;
  blocks: number;
}
const blockStats: BlockStats = { rangeCounts: 0, straddlingBlocks: 0, blocks: 0 };

function indexQueries(db: Database.Database, variant: Variant, since: number, step: number): Record<Figure, Query> {
  const until = since + step * kBuckets;
  const page = db.prepare(`SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id WHERE e.seq IN (SELECT rowid FROM search WHERE search MATCH ? ORDER BY rowid DESC LIMIT 100) ORDER BY e.seq DESC`);
  const field = db.prepare(`SELECT ${eventColumns} FROM search s JOIN events e ON e.seq = s.rowid JOIN topics t ON t.id = e.topic_id WHERE search MATCH ? AND json_extract(e.payload, '$.level') = ? ORDER BY s.rowid DESC LIMIT 100`);
  const eventMs = "CAST(round(unixepoch(e.timestamp, 'subsec') * 1000) AS INTEGER)";
  const joinEvents = db.prepare(`
    SELECT CAST((ms - ?) / ? AS INTEGER) AS bucket, count(*) AS n FROM (
      SELECT ${eventMs} AS ms FROM search s JOIN events e ON e.seq = s.rowid WHERE search MATCH ? AND s.rowid BETWEEN ? AND ?
    ) WHERE ms >= ? AND ms < ? GROUP BY bucket`).raw();
  const narrow = variant.narrow
    ? db.prepare('SELECT CAST((n.ms - ?) / ? AS INTEGER) AS bucket, count(*) AS n FROM search s JOIN event_time n ON n.seq = s.rowid WHERE search MATCH ? AND n.ms >= ? AND n.ms < ? GROUP BY bucket').raw()
    : null;
  const blocks = variant.blocks ? db.prepare('SELECT block, min_ms, max_ms FROM time_blocks ORDER BY block').raw() : null;
  const countRange = db.prepare('SELECT count(*) FROM search WHERE search MATCH ? AND rowid BETWEEN ? AND ?').pluck();
  const topService = db.prepare("SELECT json_extract(e.payload, '$.service') AS v, count(*) AS n FROM search s JOIN events e ON e.seq = s.rowid WHERE search MATCH ? GROUP BY v ORDER BY n DESC, v LIMIT 10").raw();
  const topTopic = db
    .prepare(
      variant.narrow
        ? 'SELECT t.topic, c.n FROM (SELECT n.topic_id AS id, count(*) AS n FROM search s JOIN event_time n ON n.seq = s.rowid WHERE search MATCH ? GROUP BY n.topic_id) c JOIN topics t ON t.id = c.id ORDER BY c.n DESC, t.topic LIMIT 10'
        : 'SELECT t.topic, c.n FROM (SELECT e.topic_id AS id, count(*) AS n FROM search s JOIN events e ON e.seq = s.rowid WHERE search MATCH ? GROUP BY e.topic_id) c JOIN topics t ON t.id = c.id ORDER BY c.n DESC, t.topic LIMIT 10',
    )
    .raw();
  const common = ftsWord(kCommon);

  const histogramByBlocks = (): [number, number][] => {
    const counts = new Array<number>(kBuckets).fill(0);
    const bucketOf = (ms: number): number => Math.floor((ms - since) / step);
    let range: { first: number; last: number; bucket: number } | null = null;
    let rangeCounts = 0;
    let straddling = 0;
    const flush = (): void => {
      if (range === null) return;
      rangeCounts++;
      if (range.bucket >= 0) counts[range.bucket]! += countRange.get(common, BigInt(range.first), BigInt(range.last)) as number;
      else for (const [bucket, n] of joinEvents.all(since, step, common, BigInt(range.first), BigInt(range.last), since, until) as [number, number][]) counts[bucket]! += n;
      range = null;
    };
    const all = blocks!.all() as [number, number, number][];
    for (const [block, min, max] of all) {
      if (max < since || min >= until) continue; // no event of the block is in the range
      const first = block << kBlockShift;
      const last = first + (1 << kBlockShift) - 1;
      // -1: some event of the block may fall in another bucket or outside the range: each match's row is read.
      const bucket = min >= since && max < until && bucketOf(min) === bucketOf(max) ? bucketOf(min) : -1;
      if (bucket < 0) straddling++;
      // Ranges join across missing blocks (seqs that went to other shards, or expired): no row, no match.
      if (range !== null && range.bucket === bucket) range.last = last;
      else {
        flush();
        range = { first, last, bucket };
      }
    }
    flush();
    blockStats.rangeCounts = rangeCounts;
    blockStats.straddlingBlocks = straddling;
    blockStats.blocks = all.length;
    return counts.map((n, bucket) => [bucket, n]);
  };

  const histogram = (): [number, number][] => {
    if (variant.histogram === 'blocks') return histogramByBlocks();
    if (variant.histogram === 'narrow') return narrow!.all(since, step, common, since, until) as [number, number][];
    return joinEvents.all(since, step, common, 0n, kMaxRowid, since, until) as [number, number][];
  };
  return {
    rare: () => pageAnswer(page.all(ftsWord(rareWord))),
    pair: () => pageAnswer(page.all(`${ftsWord(kPair[0])} AND ${ftsWord(kPair[1])}`)),
    // level:error: the value's words must be in the text, so they join the MATCH; json_extract decides.
    field: () => pageAnswer(field.all(`${ftsWord(kFieldWord)} AND ${ftsWord(kLevel)}`, kLevel)),
    histogram: () => histogramAnswer(histogram()),
    'top-service': () => topAnswer(topService.all(common) as [string, number][]),
    'top-topic': () => topAnswer(topTopic.all(common) as [string, number][]),
  };
}

const pageAnswer = (rows: unknown[]): Answer => ({ value: (rows as { seq: number }[]).map((row) => row.seq), matches: rows.length });
function histogramAnswer(rows: readonly [number, number][]): Answer {
  const counts = new Array<number>(kBuckets).fill(0);
  for (const [bucket, n] of rows) counts[bucket]! += n;
  return { value: counts, matches: counts.reduce((sum, n) => sum + n, 0) };
}
/** Top 10 by count (ties by value), as `value=count`. */
const topAnswer = (rows: readonly [string, number][]): Answer => ({ value: rows.map(([value, n]) => `${value}=${n}`), matches: rows.reduce((sum, [, n]) => sum + n, 0) });

// --- the exact answers, by the matcher ----------------------------------------------------------

function exactAnswers(db: Database.Database, since: number, step: number): Record<Figure, Answer> {
  const queries = {
    rare: parseSearchQuery(rareWord),
    pair: parseSearchQuery(`${kPair[0]} ${kPair[1]}`),
    field: parseSearchQuery(`level:${kLevel} ${kFieldWord}`),
    common: parseSearchQuery(kCommon),
  };
  const pages = { rare: [] as number[], pair: [] as number[], field: [] as number[] };
  const buckets = new Array<number>(kBuckets).fill(0);
  const services = new Map<string, number>();
  const topics = new Map<string, number>();
  const rows = db.prepare('SELECT e.seq, t.topic, e.event_id, e.timestamp, e.source, e.payload FROM events e JOIN topics t ON t.id = e.topic_id ORDER BY e.seq DESC').raw();
  for (const [seq, topic, eventId, timestamp, source, payloadText] of rows.iterate() as Iterable<[number, string, string, string, string, string]>) {
    const event = { topic, event_id: eventId, source, payload: JSON.parse(payloadText) as { service: string } };
    for (const name of ['rare', 'pair', 'field'] as const) if (pages[name].length < 100 && matchesQuery(queries[name], event)) pages[name].push(seq);
    if (matchesQuery(queries.common, event)) {
      const bucket = Math.floor((Date.parse(timestamp) - since) / step);
      if (bucket >= 0 && bucket < kBuckets) buckets[bucket]!++;
      services.set(event.payload.service, (services.get(event.payload.service) ?? 0) + 1);
      topics.set(topic, (topics.get(topic) ?? 0) + 1);
    }
  }
  const top = (counts: Map<string, number>): Answer => topAnswer([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10));
  return {
    rare: { value: pages.rare, matches: pages.rare.length },
    pair: { value: pages.pair, matches: pages.pair.length },
    field: { value: pages.field, matches: pages.field.length },
    histogram: histogramAnswer(buckets.map((n, bucket) => [bucket, n])),
    'top-service': top(services),
    'top-topic': top(topics),
  };
}

// --- the run ----------------------------------------------------------------------------------------

const rareWord = lines().rareWord;

if (values['fill-child']) {
  for (const filled of fill(variants, values.dir!)) process.stdout.write(`FILL ${JSON.stringify(filled)}\n`);
  process.exit(0);
}

const date = new Date();
const command = `node --import tsx bench/search-index.ts ${process.argv.slice(2).join(' ')}`.trim();
const generator = lines();
// All events, whatever their jitter or lateness: 25 h from 30 min before the nominal start, 60 buckets of 25 min.
const since = generator.startMs - 30 * 60_000;
const step = (generator.spanMs + 60 * 60_000) / kBuckets;
const sqliteVersion = new Database(':memory:').prepare('SELECT sqlite_version()').pluck().get() as string;
process.stdout.write(`SYSTEM ${JSON.stringify({ ...systemInfo(null, date), sqlite: sqliteVersion })}\n`);
process.stdout.write(`${command}\n`);
process.stdout.write(
  `events ${total}, seed ${seed}, batch ${batchSize}, jobs ${jobs}, ${randomIds ? 'random' : 'time-ordered'} event ids, variants ${variantNames.join(',')}; queries: rare "${rareWord}" (planted once per 1e6 events), ` +
    `pair "${kPair.join(' ')}", field "level:${kLevel} ${kFieldWord}", histogram/top over "${kCommon}"\n`,
);

const dir = mkdtempSync(join(tmpdir(), 'search-index-'));
const dbs = new Map<VariantName, Database.Database>();
try {
  const fillStarted = performance.now();
  const filled = await fillInJobs(dir);
  log(`all fills done in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);
  for (const each of variants) {
    const db = new Database(join(dir, `${each.name}.db`), { timeout: 0 });
    configure(db);
    if (each.beside) {
      db.prepare('ATTACH DATABASE ? AS side').run(searchPath(join(dir, `${each.name}.db`)));
      db.pragma('side.cache_size = -65536');
    }
    dbs.set(each.name, db);
  }
  const none = filled[0]!;
  const noneDb = dbs.get('none')!;

  const results: RatedResult[] = [];
  const emit = (result: RatedResult): void => {
    results.push(result);
    process.stdout.write(`${benchLine(result)}\n`);
  };
  const base = { requests_per_s: null, dup_rate: null, peak_rss_mib: null };
  for (const each of filled) {
    const cpu = each.cpuUs / total;
    const rate = total / (each.wallMs / 1000);
    emit({
      scenario: `search-index:${each.name}:ingest`,
      events_per_s: rate,
      p50_ms: null,
      p99_ms: null,
      ...base,
      details: {
        events: each.inserted,
        cpu_us_per_event: cpu,
        indexer_cpu_us_per_event: each.indexerCpuUs / total,
        indexer_events_per_s: each.indexerWallMs > 0 ? total / (each.indexerWallMs / 1000) : null,
        bytes_per_event: each.fileBytes / total,
        index_bytes_per_event: each.indexBytes / total,
        file_bytes: each.fileBytes,
        cpu_vs_none: cpu / (none.cpuUs / total),
        events_per_s_vs_none: rate / (total / (none.wallMs / 1000)),
        bytes_vs_none: each.fileBytes / none.fileBytes,
      },
    });
  }

  const exact = verify ? (log('exact answers by the matcher...'), exactAnswers(noneDb, since, step)) : null;
  const timings = new Map<string, { timing: Timing; answer: Answer }>();
  const blockFigures = new Map<VariantName, BlockStats>();
  const brute = bruteQueries(noneDb, since, step);
  for (const figure of kFigures) {
    log(`none (brute force): ${figure}`);
    const { timing, result } = timed(brute[figure], bruteRuns, bruteRuns, budgetMs);
    timings.set(`none:${figure}`, { timing, answer: result });
  }
  for (const each of variants.slice(1)) {
    const queries = indexQueries(dbs.get(each.name)!, each, since, step);
    for (const figure of figuresOf(each)) {
      log(`${each.name}: ${figure}`);
      const { timing, result } = timed(queries[figure], minRuns, 1000, budgetMs);
      timings.set(`${each.name}:${figure}`, { timing, answer: result });
      if (figure === 'histogram' && each.blocks) blockFigures.set(each.name, { ...blockStats });
    }
  }
  const checks: string[] = [];
  for (const each of variants) {
    for (const figure of figuresOf(each)) {
      const { timing, answer } = timings.get(`${each.name}:${figure}`)!;
      const bruteTiming = timings.get(`none:${figure}`)!.timing;
      // Without --verify, the brute force's answer (instr, which is exact for these words) is the reference.
      const reference = exact?.[figure] ?? timings.get(`none:${figure}`)!.answer;
      const agrees = JSON.stringify(answer.value) === JSON.stringify(reference.value);
      if (!agrees) checks.push(`${each.name} ${figure}: ${JSON.stringify(answer.value).slice(0, 200)} but ${exact ? 'the matcher' : 'the brute force'} says ${JSON.stringify(reference.value).slice(0, 200)}`);
      emit({
        scenario: `search-index:${each.name}:${figure}`,
        events_per_s: null,
        p50_ms: timing.p50,
        p99_ms: timing.p99,
        ...base,
        details: {
          runs: timing.runs,
          matches: answer.matches,
          path: figure === 'histogram' ? each.histogram : each.fts ? 'fts5' : 'scan',
          p50_vs_brute: timing.p50 / bruteTiming.p50,
          p99_vs_brute: timing.p99 / bruteTiming.p99,
          agrees_with: exact ? 'matcher' : 'brute force',
          agrees,
          ...(figure === 'histogram' && blockFigures.has(each.name) ? { ...blockFigures.get(each.name) } : {}),
        },
      });
    }
  }
  if (exact) process.stdout.write(`CHECK matcher: rare page ${exact.rare.matches}, pair page ${exact.pair.matches}, field page ${exact.field.matches}, "${kCommon}" in range ${exact.histogram.matches}\n`);
  const reference = exact ? 'the matcher' : 'the brute force (no --verify)';
  process.stdout.write(checks.length === 0 ? `CHECK every variant answered every query exactly as ${reference}\n` : checks.map((line) => `CHECK MISMATCH ${line}\n`).join(''));

  // The table: figures × variants; each cell the value and its ratio to `none` (ingest) or the brute force's time ÷ this one (queries).
  const num = (value: number, digits: number): string => value.toFixed(digits);
  const cells: string[][] = [['figure', ...variants.map((each) => (each.name === 'none' ? 'none (brute force)' : each.name))]];
  const ingestRow = (label: string, cell: (each: Filled) => string): void => void cells.push([label, ...filled.map(cell)]);
  ingestRow('commit CPU-µs/event (× none)', (each) => `${num(each.cpuUs / total, 2)} (${num(each.cpuUs / none.cpuUs, 2)}×)`);
  ingestRow('commit events/s, wall (× none)', (each) => `${Math.round(total / (each.wallMs / 1000)).toLocaleString('en-US')} (${num(none.wallMs / each.wallMs, 2)}×)`);
  ingestRow('+ indexer behind, CPU-µs/event', (each) => (each.indexerCpuUs > 0 ? `${num(each.indexerCpuUs / total, 2)} (total ${num((each.cpuUs + each.indexerCpuUs) / none.cpuUs, 2)}×)` : '-'));
  ingestRow('file bytes/event (× none)', (each) => `${num(each.fileBytes / total, 0)} (${num(each.fileBytes / none.fileBytes, 2)}×)`);
  ingestRow('  of which index bytes/event', (each) => (each.indexBytes > 0 ? num(each.indexBytes / total, 0) : '-'));
  const labels: Record<Figure, string> = {
    rare: 'page: rare word, p50/p99 ms (brute÷)',
    pair: 'page: two common words AND',
    field: 'page: level:error + word',
    histogram: 'histogram, 60 buckets',
    'top-service': 'top 10 payload.service',
    'top-topic': 'top 10 topic',
  };
  const time = (ms: number): string => (ms < 10 ? num(ms, 2) : ms < 100 ? num(ms, 1) : num(ms, 0));
  const speedup = (ratio: number): string => `${num(ratio, ratio < 10 ? 1 : 0)}×`;
  for (const figure of kFigures) {
    cells.push([
      labels[figure],
      ...variants.map((each) => {
        if (!timings.has(`${each.name}:${figure}`)) return '-';
        const { timing } = timings.get(`${each.name}:${figure}`)!;
        const bruteTiming = timings.get(`none:${figure}`)!.timing;
        return `${time(timing.p50)}/${time(timing.p99)}${each.fts ? ` (${speedup(bruteTiming.p50 / timing.p50)})` : ''}`;
      }),
    ]);
  }
  cells.push(['histogram path', ...variants.map((each) => each.histogram)]);
  const commonMatches = (each: Variant): number => timings.get(`${each.name}:histogram`)!.answer.matches;
  for (const figure of ['histogram', 'top-service', 'top-topic'] as const) {
    cells.push([`${labels[figure].replace(', 60 buckets', '')}: ms per 10^6 matches`, ...variants.map((each) => (timings.has(`${each.name}:${figure}`) ? num((timings.get(`${each.name}:${figure}`)!.timing.p50 / commonMatches(each)) * 1e6, 0) : '-'))]);
  }
  cells.push(['runs (fewest over queries)', ...variants.map((each) => String(Math.min(...figuresOf(each).map((figure) => timings.get(`${each.name}:${figure}`)!.timing.runs))))]);
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  const line = (row: readonly string[]): string => `| ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  process.stdout.write(`\n${line(cells[0]!)}\n|${widths.map((width, column) => `${'-'.repeat(width + 1)}${column === 0 ? '-' : ':'}`).join('|')}|\n${cells.slice(1).map(line).join('\n')}\n`);
  const matches = (figure: Figure): string => String(timings.get(`none:${figure}`)!.answer.matches);
  const blocks = [...blockFigures.values()][0];
  process.stdout.write(
    `rare page ${matches('rare')} events, pair and field pages ${matches('pair')} and ${matches('field')}, "${kCommon}" matches ${matches('histogram')} of ${total}; ` +
      `brute force with --brute-runs ${bruteRuns}; p99 = nearest rank over the runs` +
      (blocks ? `; time-blocks: ${blocks.blocks} blocks, ${blocks.straddlingBlocks} straddling a bucket edge, ${blocks.rangeCounts} FTS5 range queries per histogram` : '') +
      '\n',
  );
} finally {
  for (const db of dbs.values()) db.close();
  if (values.keep) log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
