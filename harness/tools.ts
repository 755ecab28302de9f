/**
 * One form for the reason a test skips when a tool it drives is not installed, so that
 * test/support/skip-summary.mjs (the reporter `npm test` adds) can name the missing tools in its
 * last line and point at the one command that installs them all: scripts/install-test-tools.sh.
 *
 *   "<tool> is not installed (<detail>; scripts/install-test-tools.sh installs it)"
 *
 * The reporter recognises a tool by `^<tool> is not installed`, so keep that start. Reasons that
 * are not about a tool (no root, no /dev/fuse, a kernel without a feature) say what is missing in
 * a short phrase first, then the details after ` (` or `: `: the reporter groups by that phrase.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const kInstallScript = 'scripts/install-test-tools.sh';

/** The skip reason for a tool that is not installed. */
export function missingTool(tool: string, detail?: string): string {
  return `${tool} is not installed (${detail ? `${detail}; ` : ''}${kInstallScript} installs it)`;
}

/** Where Debian installs daemons (nats-server, syslog-ng): not on an ordinary user's PATH. */
const kSbinDirs = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * Why `command args` (by default `--version`) cannot run from this PATH, or null when it exits 0:
 * not installed, installed in an sbin directory this PATH lacks, or failing.
 */
export function missingCommand(command: string, args: readonly string[] = ['--version']): string | null {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      return `${[command, ...args].join(' ')} failed (${(error as Error).message.split('\n')[0]})`;
    }
    const elsewhere = kSbinDirs.map((dir) => join(dir, command)).find((path) => existsSync(path));
    return elsewhere ? `${command} is not on PATH (it is ${elsewhere}: add ${elsewhere.slice(0, -command.length - 1)} to PATH)` : missingTool(command);
  }
}
