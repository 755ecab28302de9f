/**
 * How a replica can read its shard's log from NATS JetStream, measured (issue 27, point 4: "replicas
 * read the log in batches ... chosen by measurement"). Not part of `npm run bench`; needs nats-server:
 *   node --import tsx bench/log-feed.ts [--messages 20000] [--rounds 3]
 *
 * A real 3-node NATS cluster (Debian's nats-server, harness/nats-cluster.ts), one R3 stream per
 * payload size, filled with `--messages` messages; then each strategy reads the whole stream from
 * seq 1, from a connection to a node that does not lead the stream (a replica's usual case), and the
 * table has its messages/s and the CPU it cost (this process, and the three servers, from /proc),
 * medians over `--rounds` in alternating order:
 *   api-get-64      what src/cluster/log-reads.ts does: `$JS.API.STREAM.MSG.GET` by sequence, 64
 *                   in flight, answered by the stream leader (JSON, base64 body)
 *   direct-get-64   `$JS.API.DIRECT.GET` by sequence, 64 in flight (needs allow_direct; any
 *                   replica answers, raw body in headers)
 *   ordered         nats.js's ordered consumer (an R1 memory pull consumer, pulls of 256 kept
 *                   outstanding, recreated at the right sequence on a gap or a stall)
 * An explicit pull consumer (R1, memory, no acks) was tried as well: with fetch() it took ~0.65 s
 * per pull of 256 whatever the size (395 messages/s), and consume() on it stalled after the first
 * pulls in this bench (not investigated further); neither is measured below.
 * Sizes: 300 B (one event per publish) and 64 KiB (a shard's share of a batch-1000 request).
 * Output: SYSTEM, the command, BENCH lines, the table.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { connect, type JetStreamManager, type NatsConnection, type StoredMsg } from 'nats';
import { killTrackedChildren } from '../harness/children.js';
import { startNatsCluster, type NatsCluster } from '../harness/nats-cluster.js';
import { readCpuSeconds } from '../harness/proc.js';
import { removeTempDirs } from '../harness/temp-dirs.js';
import { systemInfo } from './lib/system.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } } });
const messages = Number(values.messages);
const rounds = Number(values.rounds);

type Reader = (nc: NatsConnection, jsm: JetStreamManager, stream: string, count: number) => Promise<number>;

/** A window of `width` gets in flight, in sequence order: each answer frees a slot for the next sequence. */
async function windowed(count: number, width: number, get: (seq: number) => Promise<StoredMsg>): Promise<number> {
  let bytes = 0;
  let next = 1;
  const inFlight = new Map<number, Promise<StoredMsg>>();
  for (let seq = 1; seq <= count; seq++) {
    while (next <= count && inFlight.size < width) {
      inFlight.set(next, get(next));
      next++;
    }
    const message = await inFlight.get(seq)!;
    inFlight.delete(seq);
    if (message.seq !== seq) throw new Error(`asked for ${seq}, got ${message.seq}`);
    bytes += message.data.length;
  }
  return bytes;
}

const readers: Record<string, Reader> = {
  'api-get-64': (_nc, jsm, stream, count) => windowed(count, 64, (seq) => jsm.streams.getMessage(stream, { seq })),
  // nats.js 2.29 has the direct API on its JetStreamManager object but not in the interface.
  'direct-get-64': (_nc, jsm, stream, count) => windowed(count, 64, (seq) => (jsm as JetStreamManager & { direct: { getMessage(stream: string, query: { seq: number }): Promise<StoredMsg> } }).direct.getMessage(stream, { seq })),
  ordered: async (nc, _jsm, stream, count) => {
    const consumer = await nc.jetstream().consumers.get(stream, { opt_start_seq: 1 });
    const reading = await consumer.consume({ max_messages: 256 });
    let bytes = 0;
    let expected = 1;
    for await (const message of reading) {
      if (message.seq !== expected) throw new Error(`expected ${expected}, got ${message.seq}`);
      bytes += message.data.length;
      if (++expected > count) break;
    }
    await reading.close();
    return bytes;
  },
};

const sizes = [300, 64 * 1024];

interface Sample {
  readonly messagesPerS: number;
  readonly mibPerS: number;
  readonly clientCpuUsPerMessage: number;
  readonly serverCpuUsPerMessage: number;
}

function serverCpu(nats: NatsCluster): number {
  return nats.nodes.reduce((sum, node) => sum + (node.child.pid === undefined ? 0 : (readCpuSeconds(node.child.pid) ?? 0)), 0);
}

const median = (numbers: readonly number[]): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const nats = await startNatsCluster(3);
try {
  process.stdout.write(`SYSTEM ${JSON.stringify(systemInfo(null, new Date()))}\n`);
  process.stdout.write(`command: node --import tsx bench/log-feed.ts --messages ${messages} --rounds ${rounds} (${execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim()})\n`);
  const setup = await connect({ servers: nats.nodes[0]!.url });
  const setupJsm = await setup.jetstreamManager();
  const js = setup.jetstream();
  const streams: string[] = [];
  for (const size of sizes) {
    const stream = `FEED_${size}`;
    await setupJsm.streams.add({ name: stream, subjects: [`feed.${size}`], num_replicas: 3, allow_direct: true });
    const body = new Uint8Array(size).fill(120);
    for (let sent = 0; sent < messages; sent += 256) {
      await Promise.all(Array.from({ length: Math.min(256, messages - sent) }, () => js.publish(`feed.${size}`, body)));
    }
    streams.push(stream);
  }
  await setup.drain();
  const leaders = await Promise.all(streams.map((stream) => nats.electedLeader(stream)));
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < rounds; round++) {
    const order = Object.keys(readers);
    if (round % 2 === 1) order.reverse();
    for (const [index, stream] of streams.entries()) {
      // A replica reads through a server that does not lead its stream.
      const via = nats.nodes.find((node) => node.name !== leaders[index])!;
      for (const name of order) {
        const nc = await connect({ servers: via.url });
        const jsm = await nc.jetstreamManager();
        const serverBefore = serverCpu(nats);
        const clientBefore = process.cpuUsage();
        const started = performance.now();
        const bytes = await readers[name]!(nc, jsm, stream, messages);
        const seconds = (performance.now() - started) / 1000;
        const client = process.cpuUsage(clientBefore);
        const server = serverCpu(nats) - serverBefore;
        await nc.close();
        const sample: Sample = {
          messagesPerS: messages / seconds,
          mibPerS: bytes / seconds / 1024 / 1024,
          clientCpuUsPerMessage: (client.user + client.system) / messages,
          serverCpuUsPerMessage: (server * 1e6) / messages,
        };
        const key = `${sizes[index]}|${name}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        process.stderr.write(`round ${round + 1} ${key}: ${Math.round(sample.messagesPerS)} msg/s\n`);
      }
    }
  }
  const rows: string[] = [];
  for (const size of sizes) {
    const baseline = median(samples.get(`${size}|api-get-64`)!.map((sample) => sample.messagesPerS));
    for (const name of Object.keys(readers)) {
      const mine = samples.get(`${size}|${name}`)!;
      const pick = (field: keyof Sample) => median(mine.map((sample) => sample[field]));
      const result = {
        payload_bytes: size,
        strategy: name,
        messages_per_s: Math.round(pick('messagesPerS')),
        mib_per_s: Number(pick('mibPerS').toFixed(1)),
        vs_api_get: Number((pick('messagesPerS') / baseline).toFixed(2)),
        client_cpu_us_per_message: Number(pick('clientCpuUsPerMessage').toFixed(1)),
        servers_cpu_us_per_message: Number(pick('serverCpuUsPerMessage').toFixed(1)),
        rounds: mine.length,
      };
      process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
      rows.push(`| ${size} B | ${name} | ${result.messages_per_s} | ${result.mib_per_s} | ${result.vs_api_get}× | ${result.client_cpu_us_per_message} | ${result.servers_cpu_us_per_message} |`);
    }
  }
  process.stdout.write(['', '| payload | strategy | messages/s | MiB/s | vs api-get-64 | client CPU-µs/msg | 3 servers CPU-µs/msg |', '|---|---|---:|---:|---:|---:|---:|', ...rows, ''].join('\n'));
} finally {
  await nats.stop();
  killTrackedChildren();
  await removeTempDirs();
}
