import type { Result } from '../lib/report.js';
import { kib2mib, readCpuSeconds } from '../../harness/proc.js';
import { join } from 'node:path';
import type { RssSampler } from '../../harness/rss-sampler.js';
import { startService, type RunningProcess } from '../lib/server.js';
import { fetchStats, settledStats, type ServiceStats } from '../lib/stats.js';
import { runWrk, type WrkResult } from '../lib/wrk.js';
import { publishLua } from '../lib/paths.js';
import { duplicateRatio, type Scenario, type ScenarioContext } from './types.js';

export interface ServiceLoadOptions {
  readonly wrk: string;
  readonly script: string;
  readonly shards: number;
  readonly ringBytes?: number;
  readonly batch: number;
  readonly connections: number;
  readonly durationS: number;
  /** Each connection waits this long after an answer before its next request: a paced, not a saturating, load. */
  readonly pauseMs?: number;
  /** Requests/s on an open-loop schedule (publish.lua's RATE): the offered rate holds even when answers slow down. */
  readonly ratePerS?: number;
  /** `bulk`: the same events as Elasticsearch _bulk NDJSON to /es/_bulk. */
  readonly format?: 'bulk';
  /** --profile: the service writes its CPU profiles here. */
  readonly profileDir?: string;
  /** Starts something else that serves POST /publish and a compatible GET /stats (the naive baseline). */
  readonly start?: () => Promise<RunningProcess>;
}

export interface ServiceLoad {
  readonly options: ServiceLoadOptions;
  readonly wrk: WrkResult;
  readonly before: ServiceStats;
  readonly after: ServiceStats;
  readonly sampler: RssSampler;
  readonly highWaterKiB: number | null;
  readonly serverCpuSeconds: number | null;
}

export interface WrkLoad {
  readonly script: string;
  readonly batch: number;
  readonly connections: number;
  readonly durationS: number;
  /** Event ids start with this (default: the script's own prefix). */
  readonly idPrefix?: string;
  readonly pauseMs?: number;
  readonly ratePerS?: number;
  readonly format?: 'bulk';
}

/** One wrk run (-t1, 20% duplicates) against a server, with the CPU seconds the server used meanwhile. */
export async function measuredWrk(bin: string, server: { readonly url: string; readonly pid: number }, load: WrkLoad): Promise<{ wrk: WrkResult; serverCpuSeconds: number | null }> {
  const cpuBefore = readCpuSeconds(server.pid);
  const wrk = await runWrk(bin, {
    url: server.url,
    script: load.script,
    threads: 1,
    connections: load.connections,
    durationS: load.durationS,
    env: {
      BATCH: String(load.batch),
      DUPLICATES: String(duplicateRatio),
      ...(load.idPrefix === undefined ? {} : { ID_PREFIX: load.idPrefix }),
      ...(load.pauseMs === undefined ? {} : { PAUSE_MS: String(load.pauseMs) }),
      ...(load.ratePerS === undefined ? {} : { RATE: String(load.ratePerS) }),
      ...(load.format === undefined ? {} : { FORMAT: load.format }),
    },
  });
  const cpuAfter = readCpuSeconds(server.pid);
  return { wrk, serverCpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore };
}

/** A fresh service in a fresh temp dir, one wrk run against it (-t1), /stats before and after, then stop. */
export async function runServiceLoad(options: ServiceLoadOptions): Promise<ServiceLoad> {
  const service = options.start
    ? await options.start()
    : await startService({
        shards: options.shards,
        ...(options.ringBytes !== undefined ? { ringBytes: options.ringBytes } : {}),
        ...(options.profileDir !== undefined ? { profileDir: options.profileDir } : {}),
      });
  let stopped = false;
  try {
    const before = await fetchStats(service.url);
    const { wrk, serverCpuSeconds } = await measuredWrk(options.wrk, service, options);
    const after = await settledStats(service.url);
    stopped = true;
    const highWaterKiB = await service.stop();
    return { options, wrk, before, after, sampler: service.sampler, highWaterKiB, serverCpuSeconds };
  } finally {
    if (!stopped) await service.stop();
  }
}

/** CPU seconds the machine spent on neither the server nor wrk (the driver, the kernel, other people's work). */
export function otherCpu(host: number | null, server: number | null, wrk: number | null): number | null {
  return host === null || server === null || wrk === null ? null : Math.round((host - server - wrk) * 100) / 100;
}

/** The common metrics of a load: events/s acknowledged (200 answers × batch / s), latency, dup rate, RSS. */
export function loadResult(scenario: string, load: ServiceLoad, acknowledged: number, extra: Record<string, unknown> = {}): Result {
  const { summary } = load.wrk;
  const seconds = summary.duration_us / 1e6;
  const received = load.after.received - load.before.received;
  const duplicates = load.after.duplicate_dropped - load.before.duplicate_dropped;
  const eventsAcknowledged = acknowledged * load.options.batch;
  const peak = load.sampler.peakKiB;
  return {
    scenario,
    events_per_s: eventsAcknowledged / seconds,
    requests_per_s: summary.requests / seconds,
    p50_ms: summary.p50_us / 1000,
    p99_ms: summary.p99_us / 1000,
    dup_rate: received > 0 ? duplicates / received : null,
    peak_rss_mib: peak === null ? null : kib2mib(peak),
    details: {
      batch: load.options.batch,
      connections: load.options.connections,
      pause_ms: load.options.pauseMs ?? 0,
      shards: load.options.shards,
      ring_bytes: load.options.ringBytes ?? null,
      seconds,
      requests: summary.requests,
      acknowledged_requests: acknowledged,
      errors_status: summary.errors_status,
      errors_connect: summary.errors_connect,
      errors_timeout: summary.errors_timeout,
      stats_received_delta: received,
      stats_unique_delta: load.after.unique_processed - load.before.unique_processed,
      stats_duplicate_delta: duplicates,
      stats_events_per_s: received / seconds,
      // /stats also counts requests that were still in flight when wrk stopped, so this is a little over 1
      stats_received_vs_acknowledged: eventsAcknowledged > 0 ? received / eventsAcknowledged : null,
      rss_high_water_mib: load.highWaterKiB === null ? null : kib2mib(load.highWaterKiB),
      server_cpu_s: load.serverCpuSeconds,
      wrk_cpu_s: load.wrk.cpuSeconds,
      host_busy_cpu_s: load.wrk.hostBusySeconds,
      other_cpu_s: otherCpu(load.wrk.hostBusySeconds, load.serverCpuSeconds, load.wrk.cpuSeconds),
      ...extra,
    },
  };
}

/** `{ profileDir }` for one service run under --profile (a subdir per run), else nothing. */
export function profileDirFor(context: ScenarioContext, run: string): { profileDir?: string } {
  return context.profileDir === null ? {} : { profileDir: join(context.profileDir, run) };
}

export interface LoadScenarioOptions {
  readonly batch: number;
  readonly connections: number;
  readonly pauseMs?: number;
  readonly format?: 'bulk';
  readonly ringBytes?: number;
  /** Requests answered 200 and extra result fields; default: every non-error request, nothing extra. */
  readonly describe?: (load: ServiceLoad) => { acknowledged: number; extra?: Record<string, unknown> };
}

/** A load scenario: a fresh service, wrk with this batch size and connection count. */
export function loadScenario(name: string, options: LoadScenarioOptions): Scenario {
  return {
    name,
    needsBuild: true,
    needsWrk: true,
    async run(context) {
      const load = await runServiceLoad({
        wrk: context.wrk!,
        script: publishLua,
        shards: context.shards,
        batch: options.batch,
        connections: options.connections,
        durationS: context.durationS,
        ...(options.pauseMs !== undefined ? { pauseMs: options.pauseMs } : {}),
        ...(options.format !== undefined ? { format: options.format } : {}),
        ...(options.ringBytes !== undefined ? { ringBytes: options.ringBytes } : {}),
        ...profileDirFor(context, name),
      });
      const { acknowledged, extra } = options.describe?.(load) ?? { acknowledged: load.wrk.summary.requests - load.wrk.summary.errors_status };
      return loadResult(name, load, acknowledged, extra);
    },
  };
}
