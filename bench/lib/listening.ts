import type { ChildProcess } from 'node:child_process';
import { onLines, spawnTracked, stopChild } from './children.js';
import { repoRoot } from './paths.js';

export interface ListeningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  /** The last lines the process printed, for error messages. */
  readonly tail: () => string;
}

/**
 * Starts a Node process that prints one JSON line with `"msg":"listening"` and `"port"` on stdout
 * (the service's pino line, or the bare ingress baseline's), and resolves once it has.
 */
export function startListening(args: readonly string[], timeoutMs = 15_000): Promise<ListeningProcess> {
  const child = spawnTracked(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
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
      try {
        const parsed = JSON.parse(line) as { msg?: unknown; port?: unknown };
        if (parsed.msg !== 'listening' || typeof parsed.port !== 'number' || child.pid === undefined) return;
        settled = true;
        clearTimeout(timer);
        resolve({ child, pid: child.pid, port: parsed.port, tail });
      } catch {
        // not JSON: keep waiting
      }
    });
    child.once('error', (error) => fail(`cannot start node: ${error.message}`));
    child.once('exit', (code, signal) => fail(`node ${args.join(' ')} exited (${code ?? signal}) before listening`));
  });
}
