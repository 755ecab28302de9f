/**
 * The one way tests and benches start a server: the service (dist/main.js, or another build of
 * it) with `startServer`, or any Node process that prints the same `"msg":"listening"` line (the
 * bench baselines) with `startListening`. The process is tracked (children.ts), so the end of a
 * test file or an interrupted bench can kill it, and it is ready once it printed its port.
 */
import type { ChildProcess } from 'node:child_process';
import { onLines, spawnTracked, stopChild, waitExit, type Exit } from './children.js';
import { distMain, repoRoot } from './paths.js';
import { makeTempDir } from './temp-dirs.js';

/** Where a process runs: by default on 127.0.0.1 in this network namespace. */
export interface Placement {
  /** The address it listens on and its URL names. */
  readonly host?: string;
  /** A command prefix to run node under, e.g. ['ip', 'netns', 'exec', ns] (netns.ts): it execs node, so the pid is node's. */
  readonly wrap?: readonly string[];
}

export interface ListeningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** http://<host>:<port> (127.0.0.1 unless placed elsewhere) */
  readonly url: string;
  /** The whole "listening" line, parsed (the service names its other ports there). */
  readonly listening: Readonly<Record<string, unknown>>;
  /** The last lines the process printed (stdout and stderr), for error messages. */
  tail(): string;
  /** Sends `signal` (default SIGTERM), SIGKILLs after `graceMs`, and resolves with how it exited. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
  /** kill -9: the process gets no chance to finish anything. */
  crash(): Promise<void>;
}

/**
 * Starts `node <args>`, which must print one JSON line with `"msg":"listening"` and `"port"` on
 * stdout (the service's pino line, or a baseline's), and resolves once it has.
 */
export function startListening(args: readonly string[], timeoutMs = 15_000, placement: Placement = {}): Promise<ListeningProcess> {
  const command = [...(placement.wrap ?? []), process.execPath, ...args];
  const child = spawnTracked(command[0]!, command.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (line: string): void => {
    lines.push(line);
    if (lines.length > 20) lines.shift();
  };
  const tail = (): string => lines.join('\n');
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stopChild(child, 2_000);
      reject(new Error(`${message}\n${tail()}`));
    };
    const timer = setTimeout(() => fail(`no "listening" line within ${timeoutMs} ms from node ${args.join(' ')}`), timeoutMs);
    onLines(child.stderr, keep);
    onLines(child.stdout, (line) => {
      keep(line);
      if (settled || !line.includes('"listening"')) return;
      const listening = listeningLine(line);
      if (listening === null || child.pid === undefined) return;
      const port = listening.port as number;
      settled = true;
      clearTimeout(timer);
      resolve({
        child,
        pid: child.pid,
        port,
        url: `http://${placement.host ?? '127.0.0.1'}:${port}`,
        listening,
        tail,
        stop: async (signal = 'SIGTERM', graceMs = 15_000) => stopChild(child, graceMs, signal),
        async crash() {
          child.kill('SIGKILL');
          await waitExit(child, 5_000);
        },
      });
    });
    child.once('error', (error) => fail(`cannot start node: ${error.message}`));
    child.once('exit', (code, signal) => fail(`node ${args.join(' ')} exited (${code ?? signal}) before listening`));
  });
}

function listeningLine(line: string): Record<string, unknown> | null {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return parsed.msg === 'listening' && typeof parsed.port === 'number' ? parsed : null;
  } catch {
    return null; // not JSON: keep waiting
  }
}

export interface ServerOptions {
  /** Default: a fresh temp dir (temp-dirs.ts), left in place by stop() so a restart can pass it again. */
  readonly dataDir?: string;
  /** Default 2. */
  readonly shards?: number;
  /** More flags for the service. */
  readonly args?: readonly string[];
  /** Flags for node itself, before the entry (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /** Another build of the service (default: this checkout's dist/main.js). */
  readonly entry?: string;
  /** How long it may take to print its "listening" line (default 15 s; a cluster node replays its logs first). */
  readonly timeoutMs?: number;
  /** Another address to listen on, another network namespace to run in. */
  readonly placement?: Placement;
}

export interface Server extends ListeningProcess {
  readonly dataDir: string;
}

/** Starts the built service on 127.0.0.1 (or `placement.host`), on a free port. */
export async function startServer(options: ServerOptions = {}): Promise<Server> {
  const dataDir = options.dataDir ?? (await makeTempDir());
  const entry = options.entry ?? distMain;
  const args = [...(options.nodeArgs ?? []), entry, '--host', options.placement?.host ?? '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--shards', String(options.shards ?? 2), ...(options.args ?? [])];
  return { ...(await startListening(args, options.timeoutMs, options.placement)), dataDir };
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the service to completion (a start-up refusal, --help) and returns its exit code and output. */
export function runServer(args: readonly string[]): Promise<Run> {
  return runNode([distMain, ...args]);
}

/** Runs `node <args>` to completion and returns its exit code and everything it printed; SIGKILLed (rejecting) past `timeoutMs`. */
export function runNode(args: readonly string[], options: { timeoutMs?: number; env?: Readonly<Record<string, string>> } = {}): Promise<Run> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawnTracked(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: { ...process.env, ...options.env } } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
