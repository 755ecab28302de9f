import { bareIngressEntry, publishLua } from '../lib/paths.js';
import { kib2mib } from '../../harness/proc.js';
import { startTsEntry } from '../lib/server.js';
import { measuredWrk, otherCpu } from './service-load.js';
import type { Scenario } from './types.js';

interface IngressLoad {
  readonly batch: number;
  readonly connections: number;
}

/** Baseline: a bare uWebSockets.js server (read body, JSON.parse, 200) under the wrk load of one of ours. */
function bareIngress(name: string, { batch, connections }: IngressLoad): Scenario {
  return {
    name,
    baseline: true,
    needsBuild: false,
    needsWrk: true,
    async run(context) {
      const server = await startTsEntry(bareIngressEntry);
      let stopped = false;
      try {
        const { wrk, serverCpuSeconds: serverCpu } = await measuredWrk(context.wrk!, server, { script: publishLua, batch, connections, durationS: context.durationS });
        stopped = true;
        const highWater = await server.stop();
        const { summary } = wrk;
        const seconds = summary.duration_us / 1e6;
        const peak = server.sampler.peakKiB;
        return {
          scenario: name,
          events_per_s: ((summary.requests - summary.errors_status) * batch) / seconds,
          requests_per_s: summary.requests / seconds,
          p50_ms: summary.p50_us / 1000,
          p99_ms: summary.p99_us / 1000,
          dup_rate: null,
          peak_rss_mib: peak === null ? null : kib2mib(peak),
          details: {
            batch,
            connections,
            seconds,
            requests: summary.requests,
            errors_status: summary.errors_status,
            errors_connect: summary.errors_connect,
            errors_timeout: summary.errors_timeout,
            rss_high_water_mib: highWater === null ? null : kib2mib(highWater),
            server_cpu_s: serverCpu,
            wrk_cpu_s: wrk.cpuSeconds,
            host_busy_cpu_s: wrk.hostBusySeconds,
            other_cpu_s: otherCpu(wrk.hostBusySeconds, serverCpu, wrk.cpuSeconds),
          },
        };
      } finally {
        if (!stopped) await server.stop();
      }
    },
  };
}

/** The same load as batch-1000: what ingress alone can parse. */
export const ingressLimit = bareIngress('ingress-limit', { batch: 1000, connections: 4 });

/** The same load as single-c64: small requests at 64 connections, the single-request limit. */
export const ingressSingle = bareIngress('ingress-single', { batch: 1, connections: 64 });
