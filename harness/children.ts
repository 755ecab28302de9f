import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Every child this process started and that has not exited yet, so an interrupt or the end of a test file can end them. */
const live = new Set<ChildProcess>();

export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

/** SIGKILLs the children still running, each by its own pid. */
export function killTrackedChildren(): void {
  for (const child of live) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Waits for the child to exit; past `timeoutMs` it is SIGKILLed and the wait goes on until it is gone. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<Exit> {
  return new Promise((resolve) => {
    let timedOut = false;
    const finish = (): void => {
      clearTimeout(timer);
      resolve({ code: child.exitCode, signal: child.signalCode, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    if (exited(child)) finish();
    else child.once('exit', finish);
  });
}

/** `signal` (default SIGTERM), then SIGKILL if the child has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  if (!exited(child)) child.kill(signal);
  return waitExit(child, graceMs);
}

export function onLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

/** A server process a fault test drives: each verb returns once the process is in that state. */
export interface ControlledProcess {
  /** kill -9; `start()` brings it back on the same ports and store. */
  crash(): Promise<void>;
  /** A clean shutdown (SIGTERM, SIGKILL past 15 s); `start()` brings it back the same way. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP and SIGCONT: the process holds its sockets and answers nothing meanwhile. */
  pause(): void;
  resume(): void;
}
