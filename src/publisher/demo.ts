import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Aggregator } from '../aggregator.js';
import { resolveConfig, type Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { resolvePublisherOptions } from './options.js';
import { formatHuman } from './report.js';
import { runPublisher } from './run.js';

/**
 * `npm run demo`: the headline scenario in one command. An aggregator in this process, 5 000 events
 * with 20 % duplicates published at least once, then /stats and the first events, then the server
 * stays up for curl until Ctrl-C (or stops at once with --once).
 */

const kEvents = 5000;
const kDuplicateRatio = 0.2;
const kShownEvents = 5;

const helpText = `Usage: npm run demo -- [options]   (node dist/demo.js [options])

Starts the aggregator on 127.0.0.1, publishes ${kEvents} events with ${kDuplicateRatio * 100} % duplicates,
prints GET /stats and the first ${kShownEvents} events, then keeps serving until Ctrl-C.

  --port <n>        port to listen on (default 0: any free port)
  --data-dir <dir>  data directory (default: a new temp dir, removed on exit)
  --shards <n>      shard count (default: the server's, available parallelism)
  --once            exit after printing instead of serving
  --help            print this text`;

interface DemoOptions {
  readonly help: boolean;
  readonly once: boolean;
  readonly port: number | string;
  readonly dataDir: string | null;
  readonly shards: number | string | undefined;
}

function parseDemoArgs(argv: readonly string[]): DemoOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { help: { type: 'boolean' }, once: { type: 'boolean' }, port: { type: 'string' }, 'data-dir': { type: 'string' }, shards: { type: 'string' } },
    }).values;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  // Numbers are checked by resolveConfig, which names the flag and the rule; keep bad text to quote it.
  const integer = (raw: string | boolean | undefined): number | string | undefined =>
    typeof raw === 'string' ? (/^\d+$/.test(raw) ? Number(raw) : raw) : undefined;
  return Object.freeze({
    help: values.help === true,
    once: values.once === true,
    port: integer(values.port) ?? 0,
    dataDir: typeof values['data-dir'] === 'string' ? values['data-dir'] : null,
    shards: integer(values.shards),
  });
}

async function main(): Promise<number> {
  const demo = parseDemoArgs(process.argv.slice(2));
  if (demo.help) {
    await print(helpText);
    return 0;
  }
  const createdDir = demo.dataDir === null ? await mkdtemp(join(tmpdir(), 'aggregator-demo-')) : null;
  const removeCreatedDir = async (): Promise<void> => {
    if (createdDir) await rm(createdDir, { recursive: true, force: true });
  };
  let aggregator: Aggregator;
  let config: Config;
  try {
    config = resolveConfig({ host: '127.0.0.1', port: demo.port, dataDir: demo.dataDir ?? createdDir, shards: demo.shards, logLevel: 'silent' });
    aggregator = await Aggregator.start(config);
  } catch (error) {
    await removeCreatedDir();
    throw error;
  }
  const url = `http://127.0.0.1:${aggregator.port}`;
  const stop = async (code: number): Promise<never> => {
    await aggregator.close();
    await removeCreatedDir();
    process.exit(code);
  };

  let report: Awaited<ReturnType<typeof runPublisher>>;
  try {
    await print(`aggregator listening on ${url} (data dir ${config.dataDir}, ${config.shards} shards)\n`);
    report = await runPublisher(resolvePublisherOptions({ url, events: kEvents, duplicateRatio: kDuplicateRatio, mode: 'mix', verify: true }));
    await print(`${formatHuman(report)}\n`);

    const stats = await getJson(`${url}/stats`);
    await print(`== GET /stats ==\n${JSON.stringify(stats, null, 2)}\n`);
    const page = (await getJson(`${url}/events?limit=${kShownEvents}`)) as { events?: unknown[] };
    await print(`== GET /events?limit=${kShownEvents} (the first ${kShownEvents} lines) ==`);
    for (const event of page.events ?? []) await print(JSON.stringify(event));
  } catch (error) {
    // Still close gracefully: the data dir stays consistent and unlocked whatever went wrong here.
    await aggregator.close();
    await removeCreatedDir();
    throw error;
  }

  const code = report.ok ? 0 : 1;
  if (demo.once) return stop(code);

  await print(
    `\nserving on ${url} until Ctrl-C; try:\n` +
      `  curl -s ${url}/stats\n` +
      `  curl -s '${url}/events?topic=auth.prod&limit=3'\n` +
      `  npm run publisher -- --url ${url} --verify`,
  );
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    void stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The aggregator's listening socket keeps the process alive from here on.
  return new Promise<number>(() => {});
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Resolves once the text is handed to the OS, so a process.exit right after loses nothing. */
function print(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(`${text}\n`, (error) => (error ? reject(error) : resolve())));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof ConfigError ? `${error.message} (see --help)` : ((error as Error).stack ?? String(error));
    process.stderr.write(`error: ${message}\n`);
    process.exit(1);
  },
);
