/**
 * Many topics, on the built service (dist/main.js). Not part of `npm run bench`; run it when
 * changing anything a reader asks for per topic:
 *   node --import tsx bench/topics.ts [--sizes 10000,100000,1000000] [--seconds 10]
 *
 * For each size: a fresh 2-shard service gets one event in each of that many topics; then the
 * size and latency (median of 10) of /stats, the first /topics page and /metrics, and the RSS;
 * then the paced single-event load (wrk -t1 -c64, 3 ms pause) twice: with no reader, and with a
 * client polling /stats and /metrics once a second (what the dashboard and Prometheus do).
 */
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { readRssKiB } from '../harness/proc.js';
import { startServer } from '../harness/server.js';
import { killTrackedChildren } from '../harness/children.js';
import { makeTempDir, removeTempDirsSync } from '../harness/temp-dirs.js';
import { publishLua } from './lib/paths.js';
import { requireWrk, runWrk } from './lib/wrk.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000,1000000' }, seconds: { type: 'string', default: '10' } } });
const sizes = values.sizes.split(',').map(Number);
const seconds = Number(values.seconds);
const wrk = requireWrk();

function post(agent: Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One event in each of `count` topics, 1000 per request, 4 in flight. */
async function fillTopics(base: string, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const url = new URL('/publish', base);
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) {
      const first = next;
      next = Math.min(count, next + 1000);
      const body = `[${Array.from({ length: next - first }, (_, index) => `{"topic":"tenant-${first + index}.logs","event_id":"e","timestamp":"2025-10-22T10:30:00Z","source":"bench","payload":{}}`).join(',')}]`;
      while ((await post(agent, url, body)) !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await Promise.all([loop(), loop(), loop(), loop()]);
  agent.destroy();
}

async function timed(url: string): Promise<{ ms: number; bytes: number }> {
  const runs: { ms: number; bytes: number }[] = [];
  for (let index = 0; index < 10; index++) {
    const started = performance.now();
    const body = await (await fetch(url)).arrayBuffer();
    runs.push({ ms: performance.now() - started, bytes: body.byteLength });
  }
  runs.sort((a, b) => a.ms - b.ms);
  return runs[5]!;
}

async function pacedP99(base: string, prefix: string): Promise<number> {
  const { summary } = await runWrk(wrk, { url: base, script: publishLua, threads: 1, connections: 64, durationS: seconds, env: { BATCH: '1', DUPLICATES: '0.2', PAUSE_MS: '3', ID_PREFIX: prefix } });
  return summary.p99_us / 1000;
}

const rows: string[] = [];
try {
  process.stdout.write(`node --import tsx bench/topics.ts --sizes ${sizes.join(',')} --seconds ${seconds}\n`);
  for (const size of sizes) {
    const server = await startServer({ dataDir: await makeTempDir('eoa-topics-'), shards: 2 });
    try {
      process.stderr.write(`[topics] ${size}: filling\n`);
      await fillTopics(server.url, size);
      const stats = await timed(`${server.url}/stats`);
      const topics = await timed(`${server.url}/topics?limit=100`);
      const metrics = await timed(`${server.url}/metrics`);
      const rssMiB = (readRssKiB(server.pid) ?? 0) / 1024;
      const quiet = await pacedP99(server.url, `q${size}-`);
      let polling = true;
      const poller = (async () => {
        while (polling) {
          await (await fetch(`${server.url}/stats`)).arrayBuffer();
          await (await fetch(`${server.url}/metrics`)).arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      })();
      const polled = await pacedP99(server.url, `p${size}-`);
      polling = false;
      await poller;
      const kib = (bytes: number) => (bytes / 1024).toFixed(1);
      rows.push(`| ${size.toLocaleString('en-US')} | ${kib(stats.bytes)} KiB, ${stats.ms.toFixed(1)} ms | ${kib(topics.bytes)} KiB, ${topics.ms.toFixed(1)} ms | ${kib(metrics.bytes)} KiB, ${metrics.ms.toFixed(1)} ms | ${rssMiB.toFixed(0)} | ${quiet.toFixed(2)} | ${polled.toFixed(2)} | ${(polled / quiet).toFixed(2)} × |`);
    } finally {
      await server.stop();
    }
  }
  process.stdout.write('\n| topics | /stats (size, median) | /topics first page | /metrics | RSS MiB | publish p99 ms, no reader | p99 ms, /stats + /metrics polled 1/s | ratio |\n|---|---|---|---|---|---|---|---|\n');
  process.stdout.write(`${rows.join('\n')}\n`);
} finally {
  killTrackedChildren();
  removeTempDirsSync();
}
