/**
 * What every test file imports. The tests come in two kinds, kept apart:
 *
 * - test/internals/<path of the src module>/<module>.test.ts: unit tests of one src module,
 *   mirroring src/ (fastify's pattern); they import the module directly.
 * - test/*.test.ts: behaviour tests of the whole service: the built server (dist/main.js) on
 *   127.0.0.1 and a free port, in a temp data dir, real threads and SQLite, driven over HTTP,
 *   WebSocket or raw TCP with the small clients below.
 *
 * Starting processes, temp dirs, RSS readings, servers, clusters and the poll every wait uses
 * (harness/wait.ts) come from harness/, which bench/ uses too; test/support/ holds what only
 * tests use (the browser, network namespaces, OpenAPI validation, cluster replica checks).
 * When the test file ends, every process it started is killed and every temp dir removed.
 */
import { connect } from 'node:net';
import { after } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { killTrackedChildren } from '../harness/children.js';
import { removeTempDirs } from '../harness/temp-dirs.js';

export { openFilePaths, readRssKiB } from '../harness/proc.js';
export { RssSampler } from '../harness/rss-sampler.js';
export { runNode, runServer, startServer, type Run, type Server as TestServer } from '../harness/server.js';
export { makeTempDir } from '../harness/temp-dirs.js';
export { allEvents, getJson, publish, stats, type PublishOptions, type Reply } from '../harness/http-client.js';
export { pollUntil, waitFor, type WaitOptions } from '../harness/wait.js';
export { ackMessages, fetchMessages, groupCall, type Message } from '../harness/groups.js';
export { checkVerdicts, longestAckGap, startAggregatorCluster, startLoad, type AggregatorCluster, type AggregatorNode, type LoadRecord } from '../harness/aggregator-cluster.js';
export { assertHoldersAgree, assertNodesAgree, assertSameReplicas, eventRows, replicaDigest, sharedStats, snapshotCatalogue, whenPlaced, whenSettled } from './support/cluster-checks.js';
export { logExtent, missingNatsServer } from '../harness/nats-cluster.js';
export { createPartition, missingNetns, type Partition } from './support/netns.js';

export interface TestEvent {
  topic: string;
  event_id: string;
  timestamp: string;
  source: string;
  payload: Record<string, unknown>;
}

export function event(overrides: Partial<TestEvent> & Record<string, unknown> = {}): TestEvent {
  return { topic: 'auth.prod', event_id: 'evt-1', timestamp: '2025-10-22T10:30:00Z', source: 'auth-service', payload: { user_id: 123 }, ...overrides };
}

// One root-level hook: hooks registered inside a test or hook would run when that one ends.
after(async () => {
  killTrackedChildren();
  await removeTempDirs();
});

/** Starts a worker thread running a TypeScript file (tests only; the product runs built JS). */
export function startTsWorker(file: URL, workerData: Record<string, unknown>): Worker {
  return new Worker(new URL('./fixtures/load-ts.mjs', import.meta.url), { workerData: { ...workerData, entry: file.href } });
}

export interface RawReply {
  /** Everything the server sent, as latin1 text. */
  readonly text: string;
  /** The status of the first response, or null when none came. */
  readonly status: number | null;
  /** The server closed (or reset) the connection. */
  readonly closed: boolean;
}

export interface RawOptions {
  /** Half-close after writing (the client will send nothing more). */
  readonly end?: boolean;
  /** Give up waiting after this long (the answer then has closed = false unless it closed). */
  readonly timeoutMs?: number;
}

/**
 * One exchange on a fresh TCP connection to 127.0.0.1:port, for requests fetch cannot send
 * (lying Content-Length, broken chunking, garbage). Resolves when a complete first response
 * arrived, when the server closes the connection, or after `timeoutMs`; the socket is then destroyed.
 */
export function rawHttp(port: number, payload: string | Buffer | readonly (string | Buffer)[], options: RawOptions = {}): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = received.toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ text, status: status ? Number(status[1]) : null, closed });
    };
    const timer = setTimeout(() => settle(false), options.timeoutMs ?? 5000);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (isCompleteResponse(received)) settle(false);
    });
    socket.on('error', () => settle(true));
    socket.on('close', () => settle(true));
    for (const part of Array.isArray(payload) ? payload : [payload]) socket.write(part);
    if (options.end) socket.end();
  });
}

function isCompleteResponse(bytes: Buffer): boolean {
  const headerEnd = bytes.indexOf('\r\n\r\n');
  if (headerEnd < 0) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(bytes.toString('latin1', 0, headerEnd));
  return length !== null && bytes.length >= headerEnd + 4 + Number(length[1]);
}

/**
 * JSON text (fast-check) biased towards what breaks codecs: `__proto__` and other prototype keys,
 * lone surrogates, NUL and control characters, astral characters, and numbers at the edges.
 * `JSON.parse` of it gives own `__proto__` keys, as a request body would.
 */
export function hostileJsonText(maxDepth = 4): fc.Arbitrary<string> {
  const unit = fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
    { weight: 1, arbitrary: fc.constantFrom('\u0000', '\u001f', '\u007f', '\u2028', '\ufeff', '\ufffd', '😀', '"', '\\') },
  );
  const text = fc.array(unit, { maxLength: 4 }).map((parts) => parts.join(''));
  const key = fc.oneof({ weight: 4, arbitrary: text }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '__proto_', '') });
  const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e308, -1e-308, 2 ** 53, -(2 ** 53)));
  const { value } = fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth, withCrossShrink: true },
      text.map((item) => JSON.stringify(item)),
      number.map((item) => JSON.stringify(item)),
      fc.constantFrom('true', 'false', 'null'),
      fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
      fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${item}`).join(',')}}`),
    ),
  }));
  return value;
}

/** The files the service itself keeps in its data dir: anything else there came from input. */
export function isServiceFile(name: string): boolean {
  return /^(aggregator\.(json|lock)|seq-reservation\.json|shard-\d{3}\.db(-wal|-shm)?)$/.test(name);
}
