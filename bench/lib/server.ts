import { readRssHighWaterKiB } from '../../harness/proc.js';
import { RssSampler } from '../../harness/rss-sampler.js';
import { startListening, startServer, type ListeningProcess } from '../../harness/server.js';
import { makeTempDir, removeTempDir } from '../../harness/temp-dirs.js';

export interface ServiceOptions {
  readonly shards: number;
  readonly ringBytes?: number;
  readonly sync?: 'full' | 'interval' | 'normal';
  /** Another build of the service (default: this checkout's dist/main.js). */
  readonly entry?: string;
  /** Run node with --cpu-prof, writing the profiles (main thread and workers) into this dir. */
  readonly profileDir?: string;
  /** More flags for the service. */
  readonly args?: readonly string[];
}

/** A server under measurement: its RSS sampled from the start. */
export interface RunningProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** The process's temp dir (the service's data dir). */
  readonly dir: string;
  readonly sampler: RssSampler;
  /** Stops the process (SIGTERM, then SIGKILL), removes its temp dir; returns the RSS high-water mark, KiB. */
  stop(): Promise<number | null>;
}

/** Makes a fresh temp dir, runs `start(dir)` to get the process, and removes the dir however it ends. */
async function inTempDir(start: (dir: string) => Promise<ListeningProcess>): Promise<RunningProcess> {
  const dir = await makeTempDir('eoa-bench-');
  let listening: ListeningProcess;
  try {
    listening = await start(dir);
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
  const sampler = new RssSampler(listening.pid);
  return {
    pid: listening.pid,
    port: listening.port,
    url: listening.url,
    dir,
    sampler,
    async stop() {
      sampler.stop();
      const highWater = readRssHighWaterKiB(listening.pid);
      const exit = await listening.stop();
      await removeTempDir(dir);
      if (exit.timedOut || (exit.code !== 0 && exit.code !== null)) {
        process.stderr.write(`warning: pid ${listening.pid} ended with ${exit.timedOut ? 'SIGKILL after timeout' : `code ${exit.code}`}\n${listening.tail()}\n`);
      }
      return highWater;
    },
  };
}

/** Starts the built service (harness/server.ts: dist/main.js on 127.0.0.1, a free port) in a fresh temp data dir. */
export function startService(options: ServiceOptions): Promise<RunningProcess> {
  return inTempDir((dir) => {
    const args = ['--log-level', 'info'];
    if (options.ringBytes !== undefined) args.push('--ring-bytes', String(options.ringBytes));
    if (options.sync !== undefined) args.push('--sync', options.sync);
    if (options.args !== undefined) args.push(...options.args);
    const nodeArgs = options.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profileDir];
    return startServer({ dataDir: dir, shards: options.shards, args, nodeArgs, ...(options.entry === undefined ? {} : { entry: options.entry }) });
  });
}

/**
 * Starts a TypeScript entry point (via tsx) that prints a "listening" line, in a fresh temp dir,
 * passed to it as `<dataDirFlag> <dir>` when a flag is given.
 */
export function startTsEntry(entry: string, extraArgs: readonly string[] = [], dataDirFlag?: string): Promise<RunningProcess> {
  return inTempDir((dir) =>
    startListening(['--import', 'tsx', entry, '--host', '127.0.0.1', '--port', '0', ...(dataDirFlag === undefined ? [] : [dataDirFlag, dir]), ...extraArgs]),
  );
}
