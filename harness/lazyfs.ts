/**
 * Drives harness/lazyfs/lazyfs.py, the FUSE file system that loses power on command: mounts
 * it over a backing dir, sends it commands (crash, fault, clear, status) on its Unix socket, and
 * unmounts it. A "remount" is a new process on the same backing dir, which then holds exactly what
 * was synced before the crash. Needs /dev/fuse, root (or CAP_SYS_ADMIN) and Debian's
 * python3-pyfuse3 (for /usr/bin/python3; scripts/install-test-tools.sh installs it).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { onLines, spawnTracked, waitExit } from './children.js';
import { repoRoot } from './paths.js';
import { makeTempDir } from './temp-dirs.js';
import { missingTool } from './tools.js';
import { waitFor } from './wait.js';

const python = '/usr/bin/python3';
const script = join(repoRoot, 'harness/lazyfs/lazyfs.py');
/** How long a hung lazyfs gets to print its stacks (kill -USR1), and its stderr to end after the SIGKILL. */
const kStacksTimeoutMs = 5000;

/** Why lazyfs cannot run here (for a skip message), or null. Mounting may still fail: `mount` says why. */
export function lazyFsUnavailable(): string | null {
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse (lazyfs is a FUSE file system)';
  try {
    execFileSync(python, ['-c', 'import pyfuse3, trio'], { stdio: 'pipe' });
  } catch {
    return missingTool('python3-pyfuse3', `${python} cannot import pyfuse3 and trio`);
  }
  return null;
}

export type FaultKind = 'eio' | 'enospc';

export interface FaultOptions {
  /** Which operations fail (default both). */
  readonly ops?: readonly ('write' | 'fsync')[];
  /** Only files whose path in the mount contains this (default: every file). */
  readonly match?: string;
  /** Only the next N matching operations (default: until `clear`). */
  readonly count?: number;
}

export interface CrashOutcome {
  /** Cached (unsynced) bytes dropped, in 4 KiB pages. */
  readonly dropped_bytes: number;
  /** Of those, bytes a torn crash wrote to the backing dir after all. */
  readonly torn_bytes: number;
}

export class LazyFs {
  private constructor(
    readonly backing: string,
    readonly mountPoint: string,
    private readonly control: string,
    private readonly child: ChildProcess,
    private readonly output: string[],
  ) {}

  /** Mounts lazyfs over `backing` at `mountPoint` (both existing dirs); rejects with its stderr if it cannot. */
  static async mount(backing: string, mountPoint: string, control: string): Promise<LazyFs> {
    const child = spawnTracked(python, ['-B', script, backing, mountPoint, '--control', control], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    onLines(child.stderr, (line) => output.push(line));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lazyfs did not mount within 10 s: ${output.join('\n')}`)), 10_000);
      onLines(child.stdout, (line) => {
        if (!line.includes('"mounted"')) return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`lazyfs exited (${code ?? signal}) before mounting: ${output.join('\n')}`));
      });
    });
    const fs = new LazyFs(backing, mountPoint, control, child, output);
    await fs.command('status'); // the control socket is listening too
    return fs;
  }

  /** One command line; resolves with the JSON answer, rejects if it says not ok. */
  async command(line: string): Promise<Record<string, unknown>> {
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(this.control);
      const timer = setTimeout(() => socket.destroy(new Error(`lazyfs did not answer "${line}" within 30 s`)), 30_000);
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write(`${line}\n`));
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) socket.end();
      });
      socket.on('error', reject);
      socket.on('close', () => {
        clearTimeout(timer);
        if (text.includes('\n')) resolve(text.trim());
        else reject(new Error(`lazyfs closed the control socket without answering "${line}"`));
      });
    });
    const parsed = JSON.parse(answer) as Record<string, unknown>;
    if (parsed.ok !== true) throw new Error(`lazyfs ${line}: ${answer}`);
    return parsed;
  }

  /** The power goes: every unsynced byte and name change is dropped; then every operation fails with EIO. */
  async crash(tornSeed?: number): Promise<CrashOutcome> {
    return (await this.command(tornSeed === undefined ? 'crash' : `crash torn=${tornSeed}`)) as unknown as CrashOutcome;
  }

  /** Arms a cut instead of the `after`-th operation from now that changes something (see `status().mutations`). */
  async crashAfter(after: number, tornSeed?: number): Promise<void> {
    await this.command(`crash after=${after}${tornSeed === undefined ? '' : ` torn=${tornSeed}`}`);
  }

  async fault(kind: FaultKind, options: FaultOptions = {}): Promise<void> {
    const words = [`fault ${kind}`];
    if (options.ops) words.push(`ops=${options.ops.join(',')}`);
    if (options.match) words.push(`match=${options.match}`);
    if (options.count !== undefined) words.push(`count=${options.count}`);
    await this.command(words.join(' '));
  }

  async clear(): Promise<void> {
    await this.command('clear');
  }

  async status(): Promise<Record<string, unknown>> {
    return this.command('status');
  }

  /** Unmounts (lazily if something still holds it), tells the process to exit, and waits for it. */
  async unmount(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const errors: string[] = [];
    for (const args of [[this.mountPoint], ['-l', this.mountPoint]]) {
      try {
        execFileSync('umount', args, { stdio: 'pipe' });
        break;
      } catch (error) {
        errors.push(String((error as { stderr?: Buffer }).stderr ?? error).trim()); // busy: the lazy unmount detaches it anyway
      }
    }
    // Not only umount: a copy of the mount in another mount namespace would keep it serving.
    await this.command('exit').catch(() => undefined);
    const exited = await Promise.race([waitExit(this.child, 60_000).then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, 10_000, false))]);
    if (exited) return;
    this.child.kill('SIGUSR1'); // faulthandler: its stacks to stderr, for the message
    // Its handler writes every thread's stack at once, each headed "... (most recent call first):".
    const stacks = (): boolean => this.output.some((line) => line.includes('most recent call first'));
    await waitFor(stacks, "lazyfs's stacks on stderr", kStacksTimeoutMs).catch(() => undefined); // if none come, the error goes without them
    this.child.kill('SIGKILL');
    // Every line it wrote read, up to the end of its stderr.
    await waitFor(() => this.child.stderr?.readableEnded ?? true, "the end of lazyfs's stderr", kStacksTimeoutMs).catch(() => undefined);
    throw new Error(`lazyfs did not exit after unmounting (${errors.join('; ') || 'umount succeeded'}): ${this.output.join('\n')}`);
  }

  /** A power cycle's second half: unmount the dead mount and mount the backing dir afresh. */
  async remount(): Promise<LazyFs> {
    await this.unmount();
    return LazyFs.mount(this.backing, this.mountPoint, this.control);
  }
}

/** The mount a test or bench holds; `fs` changes at each remount. */
export interface LazyMount {
  fs: LazyFs;
}

/**
 * lazyfs in a fresh temp dir (backing/ mounted at mnt/, the socket beside them), or why it cannot
 * mount here (for t.skip). The caller unmounts it (`mount.fs.unmount()`) before the temp dir goes.
 */
export async function mountInTempDir(): Promise<LazyMount | string> {
  const unavailable = lazyFsUnavailable();
  if (unavailable !== null) return unavailable;
  const base = await makeTempDir('lazyfs-');
  mkdirSync(join(base, 'backing'));
  mkdirSync(join(base, 'mnt'));
  try {
    return { fs: await LazyFs.mount(join(base, 'backing'), join(base, 'mnt'), join(base, 'control.sock')) };
  } catch (error) {
    return `lazyfs cannot mount here: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`;
  }
}
