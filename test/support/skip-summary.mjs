/**
 * A node:test reporter that ends the run with one line naming what was skipped and why, grouped,
 * and, when a skip is due to a missing tool, the one command that installs them all:
 *
 *   skipped 2 tests and 14 suites: nats-server missing (14 suites), wrk missing (2 tests) — install
 *   the tools with: sudo scripts/install-test-tools.sh
 *
 * (one line). `npm test` runs it after the spec reporter, both to stdout:
 *   --test-reporter=spec --test-reporter-destination=stdout
 *   --test-reporter=./test/support/skip-summary.mjs --test-reporter-destination=stdout
 *
 * A skip is a test:pass or test:fail event whose `skip` is a string or true. A skipped describe()
 * reports once, as a suite, and its tests never report: it counts as one skipped suite (node's own
 * summary leaves skipped suites out of its "skipped" count). A reason in the form of
 * harness/tools.ts, "<tool> is not installed (…)", is grouped as "<tool> missing"; any other is
 * grouped by its short phrase, the text before its first " (", ": " or "; ". The reporter only
 * reads events: the exit code stays node's.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export const kInstallScript = 'scripts/install-test-tools.sh';

/** The command to print: sudo unless this is root. */
export function installCommand(uid = process.getuid?.() ?? 0) {
  return uid === 0 ? kInstallScript : `sudo ${kInstallScript}`;
}

/** The tool a skip reason says is missing (harness/tools.ts's form), or null. */
export function missingToolOf(reason) {
  const match = /^(\S+) is not installed\b/.exec(reason);
  return match ? match[1] : null;
}

const kMaxLabel = 80;

/** The group a skip reason falls in. */
export function groupOf(reason) {
  const text = typeof reason === 'string' ? reason.trim() : '';
  if (text === '') return { label: 'no reason given', tool: null };
  const tool = missingToolOf(text);
  if (tool !== null) return { label: `${tool} missing`, tool };
  const cuts = [' (', ': ', '; '].map((separator) => text.indexOf(separator)).filter((index) => index > 0);
  const head = cuts.length > 0 ? text.slice(0, Math.min(...cuts)) : text;
  return { label: head.length > kMaxLabel ? `${head.slice(0, kMaxLabel - 1)}…` : head, tool: null };
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function tally(tests, suites) {
  return [suites > 0 ? plural(suites, 'suite') : null, tests > 0 || suites === 0 ? plural(tests, 'test') : null].filter(Boolean).join(', ');
}

/** Collects the skips (and how many tests reported) from node:test reporter events. */
export class SkipCollector {
  /** label → { tool, tests, suites }, in the order first seen. */
  groups = new Map();
  ran = 0;

  add(event) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') return;
    const data = event.data ?? {};
    const suite = data.details?.type === 'suite';
    const skip = data.skip;
    if (skip === undefined || skip === false) {
      if (!suite) this.ran++;
      return;
    }
    const { label, tool } = groupOf(skip);
    const group = this.groups.get(label) ?? { tool, tests: 0, suites: 0 };
    if (suite) group.suites++;
    else group.tests++;
    this.groups.set(label, group);
  }

  /** The summary line (no newline). */
  line({ uid } = {}) {
    const groups = [...this.groups.entries()].map(([label, group]) => ({ label, ...group }));
    if (groups.length === 0) return `all ${plural(this.ran, 'test')} ran, none skipped`;
    const tests = groups.reduce((sum, group) => sum + group.tests, 0);
    const suites = groups.reduce((sum, group) => sum + group.suites, 0);
    // Missing tools first (the ones the command fixes), then the rest; most skips first in each.
    const order = (group) => [group.tool === null ? 1 : 0, -(group.tests + group.suites)];
    groups.sort((a, b) => {
      const [x, y] = [order(a), order(b)];
      return x[0] - y[0] || x[1] - y[1];
    });
    const total = [tests > 0 ? plural(tests, 'test') : null, suites > 0 ? plural(suites, 'suite') : null].filter(Boolean).join(' and ');
    const parts = groups.map((group) => `${group.label} (${tally(group.tests, group.suites)})`).join(', ');
    const hint = groups.some((group) => group.tool !== null) ? ` — install the tools with: ${installCommand(uid)}` : '';
    return `skipped ${total}: ${parts}${hint}`;
  }
}

/** The reporter: reads every event, then yields the one line once the run has ended. */
export default async function* skipSummary(source) {
  const collector = new SkipCollector();
  for await (const event of source) collector.add(event);
  // The spec reporter reads the same events and writes its summary (and its list of failing tests)
  // as they end. Node 20 already writes this generator's last chunk after it, in either order of
  // --test-reporter; the two turns only make sure of it. A blank line sets the line apart.
  await nextTurn();
  await nextTurn();
  yield `\n${collector.line()}\n`;
}
