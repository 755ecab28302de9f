/**
 * A real Prometheus (Debian's `prometheus` package: /usr/bin/prometheus and /usr/bin/promtool)
 * for tests: `startPrometheus` writes a config into a temp dir, starts the server on 127.0.0.1 and
 * a free port with its TSDB in that dir, and resolves once /-/ready answers; `runPromtool` runs
 * promtool to completion. The process is tracked (children.ts) like every other child, so the end
 * of the test file kills it even when a test fails before its own stop().
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onLines, spawnTracked, stopChild } from './children.js';
import { freePort } from './ports.js';
import { makeTempDir } from './temp-dirs.js';
import { missingCommand } from './tools.js';
import { pollUntil } from './wait.js';

/** Why Prometheus cannot run here (the skip reason, in harness/tools.ts's form), or null when both `prometheus` and `promtool` run. */
export function missingPrometheus(): string | null {
  return missingCommand('prometheus') ?? missingCommand('promtool');
}

export interface ToolRun {
  readonly code: number | null;
  readonly output: string;
}

/** `promtool <args>` to completion (SIGKILLed past `timeoutMs`): its exit code and everything it printed. */
export function runPromtool(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<ToolRun> {
  const child = spawnTracked('promtool', args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** One sample of an instant query: its labels (with __name__ when it has one) and its value. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One alert of /api/v1/alerts. */
export interface PromAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing';
  readonly value: string;
}

/** One rule of /api/v1/rules, as Prometheus last evaluated it. */
export interface PromRule {
  readonly name: string;
  readonly type: 'recording' | 'alerting';
  /** 'ok', 'err' (lastError says why) or 'unknown' (not evaluated yet). */
  readonly health: 'ok' | 'err' | 'unknown';
  readonly lastError?: string;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The temp dir holding prometheus.yml and the TSDB. */
  readonly dir: string;
  /** An instant query (GET /api/v1/query); throws with Prometheus' error for a bad one. */
  query(expr: string): Promise<PromSample[]>;
  /** The alerts pending or firing now (GET /api/v1/alerts). */
  alerts(): Promise<PromAlert[]>;
  /** Every loaded rule, with the health of its last evaluation (GET /api/v1/rules). */
  rules(): Promise<PromRule[]>;
  /** What the process printed last, for error messages. */
  tail(): string;
  /** SIGTERM, SIGKILL past 10 s. */
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** The whole configuration file's text (YAML; JSON is YAML too). */
  readonly config: string;
  /** How long it may take to answer /-/ready (default 30 s). */
  readonly readyTimeoutMs?: number;
}

/** Starts `prometheus` with `config`, its TSDB in a fresh temp dir, on 127.0.0.1 and a free port; resolves once it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const dir = await makeTempDir('prometheus-');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, options.config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnTracked(
    'prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > 30) lines.shift();
  };
  onLines(child.stdout, keep);
  onLines(child.stderr, keep);
  const tail = (): string => lines.join('\n');
  const server: PrometheusServer = {
    url,
    dir,
    async query(expr) {
      const answer = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      const body = (await answer.json()) as { status: string; error?: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
      if (body.data.resultType !== 'vector') throw new Error(`query ${expr}: a ${body.data.resultType}, not a vector`);
      return body.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
    async alerts() {
      const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
      return body.data.alerts;
    },
    async rules() {
      const body = (await (await fetch(`${url}/api/v1/rules`)).json()) as { data: { groups: { rules: PromRule[] }[] } };
      return body.data.groups.flatMap((group) => group.rules);
    },
    tail,
    async stop() {
      await stopChild(child, 10_000);
    },
  };
  try {
    await pollUntil(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail()}`);
        const ready = await fetch(`${url}/-/ready`).then((answer) => answer.ok, () => false);
        return ready ? true : undefined;
      },
      () => `prometheus on ${url} to be ready:\n${tail()}`,
      { timeoutMs: options.readyTimeoutMs ?? 30_000, intervalMs: 100 },
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

