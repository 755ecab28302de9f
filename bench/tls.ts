/**
 * TLS against plain HTTP, same run, same machine (not part of `npm run bench`):
 *   node --import tsx bench/tls.ts [--rounds 3] [--duration 5] [--shards 2]
 *
 * Two loads, each with wrk over keep-alive connections (the handshake is paid once per connection,
 * as a shipper pays it):
 *   batch   wrk -t1 -c4, 1000 events per POST /publish (20% duplicates): events/s, p50/p99
 *   single  wrk -t1 -c16, one event per POST /publish: requests/s, p50/p99
 * against
 *   service plain / service tls   the built service (dist/main.js), --sync full, fresh data dir,
 *                                 plain, then with --tls-cert/--tls-key (src/http/tls-front.ts)
 *   bare plain / uws-ssl / node-tls   bench/baselines/tls-ingress.ts: the transport alone (no
 *                                 storage), uWS plain, uWS's own SSLApp, and Node's tls in front of uWS
 * Rounds alternate the variants so drift on a shared machine hits all of them alike; the table
 * has medians over rounds, each variant's ratio to its plain twin, and the server's CPU-µs per
 * event (all threads, /proc). Output: SYSTEM, the command, BENCH lines, the table.
 */
import { parseArgs } from 'node:util';
import { makeCertificates } from '../harness/certificates.js';
import { killTrackedChildren } from '../harness/children.js';
import { readCpuSeconds } from '../harness/proc.js';
import { makeTempDir, removeTempDirs } from '../harness/temp-dirs.js';
import { publishLua } from './lib/paths.js';
import { startService, startTsEntry, type RunningProcess } from './lib/server.js';
import { systemInfo } from './lib/system.js';
import { requireWrk, runWrk } from './lib/wrk.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5' }, shards: { type: 'string', default: '2' } } });
const rounds = Number(values.rounds);
const durationS = Number(values.duration);
const shards = Number(values.shards);

const wrk = requireWrk();

interface Variant {
  readonly name: string;
  readonly twin: string;
  readonly tls: boolean;
  start(cert: string, key: string): Promise<RunningProcess>;
}

const baseline = (mode: string) => (cert: string, key: string) => startTsEntry('bench/baselines/tls-ingress.ts', ['--mode', mode, '--cert', cert, '--key', key]);
const variants: Variant[] = [
  { name: 'service plain', twin: 'service plain', tls: false, start: () => startService({ shards }) },
  { name: 'service tls', twin: 'service plain', tls: true, start: (cert, key) => startService({ shards, args: ['--tls-cert', cert, '--tls-key', key] }) },
  { name: 'bare plain', twin: 'bare plain', tls: false, start: baseline('plain') },
  { name: 'bare uws-ssl', twin: 'bare plain', tls: true, start: baseline('uws-ssl') },
  { name: 'bare node-tls', twin: 'bare plain', tls: true, start: baseline('node-tls') },
];
const loads = [
  { name: 'batch', batch: 1000, connections: 4 },
  { name: 'single', batch: 1, connections: 16 },
] as const;

interface Sample {
  readonly eventsPerS: number;
  readonly requestsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerEvent: number | null;
}

const median = (numbers: readonly number[]): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

async function measure(variant: Variant, load: (typeof loads)[number], round: number, cert: string, key: string): Promise<Sample> {
  const server = await variant.start(cert, key);
  try {
    const url = `${variant.tls ? 'https' : 'http'}://127.0.0.1:${server.port}`;
    const cpuBefore = readCpuSeconds(server.pid);
    const result = await runWrk(wrk, { url, script: publishLua, threads: 1, connections: load.connections, durationS, env: { BATCH: String(load.batch), DUPLICATES: '0.2', ID_PREFIX: `r${round}` } });
    const cpuAfter = readCpuSeconds(server.pid);
    const seconds = result.summary.duration_us / 1e6;
    const requests = result.summary.requests - result.summary.errors_status;
    const events = requests * load.batch;
    return {
      eventsPerS: events / seconds,
      requestsPerS: requests / seconds,
      p50Ms: result.summary.p50_us / 1000,
      p99Ms: result.summary.p99_us / 1000,
      cpuUsPerEvent: cpuBefore === null || cpuAfter === null || events === 0 ? null : ((cpuAfter - cpuBefore) * 1e6) / events,
    };
  } finally {
    await server.stop();
  }
}

const dir = await makeTempDir('eoa-bench-tls-');
try {
  const certificates = makeCertificates(dir);
  process.stdout.write(`SYSTEM ${JSON.stringify(systemInfo(wrk, new Date()))}\n`);
  process.stdout.write(`command: node --import tsx bench/tls.ts --rounds ${rounds} --duration ${durationS} --shards ${shards}\n`);
  const samples = new Map<string, Sample[]>();
  for (let round = 0; round < rounds; round++) {
    for (const load of loads) {
      for (const variant of variants) {
        const sample = await measure(variant, load, round, certificates.serverCert, certificates.serverKey);
        const key = `${load.name}|${variant.name}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        process.stderr.write(`round ${round + 1} ${load.name} ${variant.name}: ${Math.round(sample.eventsPerS)} events/s, p99 ${sample.p99Ms.toFixed(2)} ms\n`);
      }
    }
  }
  const rows: string[] = [];
  for (const load of loads) {
    for (const variant of variants) {
      const mine = samples.get(`${load.name}|${variant.name}`)!;
      const twin = samples.get(`${load.name}|${variant.twin}`)!;
      const pick = (field: keyof Sample, of: readonly Sample[]) => median(of.map((sample) => sample[field] ?? Number.NaN));
      const result = {
        load: load.name,
        variant: variant.name,
        events_per_s: Math.round(pick('eventsPerS', mine)),
        requests_per_s: Math.round(pick('requestsPerS', mine)),
        p50_ms: Number(pick('p50Ms', mine).toFixed(2)),
        p99_ms: Number(pick('p99Ms', mine).toFixed(2)),
        throughput_vs_plain: Number((pick('eventsPerS', mine) / pick('eventsPerS', twin)).toFixed(3)),
        p99_vs_plain: Number((pick('p99Ms', mine) / pick('p99Ms', twin)).toFixed(2)),
        server_cpu_us_per_event: Number(pick('cpuUsPerEvent', mine).toFixed(2)),
        rounds: mine.length,
      };
      process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
      rows.push(`| ${result.load} | ${result.variant} | ${result.events_per_s} | ${result.requests_per_s} | ${result.p50_ms} | ${result.p99_ms} | ${result.throughput_vs_plain}× | ${result.p99_vs_plain}× | ${result.server_cpu_us_per_event} |`);
    }
  }
  process.stdout.write(['', '| load | variant | events/s | requests/s | p50 ms | p99 ms | throughput vs plain | p99 vs plain | server CPU-µs/event |', '|---|---|---|---|---|---|---|---|---|', ...rows, ''].join('\n'));
} finally {
  killTrackedChildren();
  await removeTempDirs();
}
