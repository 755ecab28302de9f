/**
 * Seeded log events (log-lines.ts) as batch-1000 /publish bodies in a file, and a publisher that
 * posts them. The bodies are written once, before any server runs, so the servers compared get
 * the same bytes and the generator (~7 µs per event, a whole core at a service's ingest rate on a
 * 2-core machine) is not in any measured window: publishing only reads the file back.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { wordsOf } from '../../src/search/words.js';
import { kServices, LogLines, type LogLineOptions } from './log-lines.js';

export interface BodyFile {
  readonly path: string;
  readonly events: number;
  /** Events per body (the last may hold fewer). */
  readonly batch: number;
  /** Byte offset and length of each body (one line each). */
  readonly offsets: readonly number[];
  readonly lengths: readonly number[];
  /** Earliest and latest event timestamp, epoch ms (jitter and late events fall outside the nominal span). */
  readonly minMs: number;
  readonly maxMs: number;
}

/** Writes `options.count` events as JSON array bodies of `batch` events, one per line. */
export function writeBodies(path: string, options: LogLineOptions, batch: number): BodyFile {
  const lines = new LogLines(options);
  const fd = openSync(path, 'w');
  const offsets: number[] = [];
  const lengths: number[] = [];
  let offset = 0;
  let minMs = Infinity;
  let maxMs = -Infinity;
  try {
    for (let done = 0; done < options.count; done += batch) {
      const parts: string[] = [];
      for (let index = done; index < Math.min(options.count, done + batch); index++) {
        const event = lines.next();
        if (event.timeMs < minMs) minMs = event.timeMs;
        if (event.timeMs > maxMs) maxMs = event.timeMs;
        parts.push(`{"topic":"${event.topic}","event_id":"${event.eventId}","timestamp":"${event.timestamp}","source":"${event.source}","payload":${event.payload}}`);
      }
      const body = Buffer.from(`[${parts.join(',')}]\n`);
      writeSync(fd, body);
      offsets.push(offset);
      lengths.push(body.length - 1);
      offset += body.length;
    }
  } finally {
    closeSync(fd);
  }
  return { path, events: options.count, batch, offsets, lengths, minMs, maxMs };
}

/**
 * The vocabulary word whose share of events is nearest `share`, from the first `sample` events of
 * the same stream. Only words a substring scan counts exactly qualify (the baseline uses
 * instr(lower(payload))): at least 5 letters, inside no other vocabulary word, service, level,
 * payload key or token name, and not all hex digits (trace ids, request ids and sources hold hex).
 * Deterministic for a seed.
 */
export function wordWithShare(options: LogLineOptions, share: number, sample: number): { word: string; sampleShare: number } {
  const lines = new LogLines({ ...options, count: options.count });
  const counts = new Map<string, number>();
  const events = Math.min(sample, options.count);
  for (let index = 0; index < events; index++) {
    const msg = (JSON.parse(lines.next().payload) as { msg: string }).msg;
    for (const word of new Set(wordsOf(msg))) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const fixed = [...kServices, 'svc', 'info', 'debug', 'warn', 'error', 'level', 'msg', 'service', 'latency_ms', 'user', 'trace_id', 'request_id', 'client', 'took', 'path=/api/v2'];
  const vocabulary = lines.vocabulary;
  const exact = (word: string): boolean =>
    word.length >= 5 && !/^[0-9a-f]+$/.test(word) && !vocabulary.some((other) => other !== word && other.includes(word)) && !fixed.some((text) => text.includes(word) || word.includes(text));
  let best = { word: '', sampleShare: 0, distance: Infinity };
  for (const word of vocabulary) {
    const wordShare = (counts.get(word) ?? 0) / events;
    const distance = Math.abs(Math.log(wordShare / share));
    if (wordShare > 0 && distance < best.distance && exact(word)) best = { word, sampleShare: wordShare, distance };
  }
  if (best.word === '') throw new Error(`no vocabulary word qualifies for a share of ${share}`);
  return { word: best.word, sampleShare: best.sampleShare };
}

/** The events in bodies `from` to `to` (exclusive). */
export const eventsIn = (file: BodyFile, from: number, to: number): number => Math.min(to * file.batch, file.events) - from * file.batch;

export interface PublishResult {
  readonly seconds: number;
  readonly requests: number;
  /** 503 answers (backpressure), each retried after a short pause. */
  readonly retries: number;
}

function post(agent: Agent, url: URL, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Posts bodies `from` to `to` (exclusive) of `file`, in order of taking, over `connections`
 * keep-alive connections; any answer but 200 and 503 throws.
 */
export async function publishBodies(baseUrl: string, file: BodyFile, connections: number, from = 0, to = file.offsets.length): Promise<PublishResult> {
  const url = new URL('/publish', baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const handle = await open(file.path, 'r');
  let next = from;
  let requests = 0;
  let retries = 0;
  const started = performance.now();
  const loop = async (): Promise<void> => {
    while (next < to) {
      const index = next++;
      const body = Buffer.allocUnsafe(file.lengths[index]!);
      await handle.read(body, 0, body.length, file.offsets[index]!);
      for (;;) {
        const status = await post(agent, url, body);
        requests++;
        if (status === 200) break;
        if (status !== 503) throw new Error(`POST /publish answered ${status}`);
        retries++;
        await new Promise((resolve) => setTimeout(resolve, 20)); // the service's backpressure: back off a little
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, loop));
  } finally {
    agent.destroy();
    await handle.close();
  }
  return { seconds: (performance.now() - started) / 1000, requests, retries };
}
