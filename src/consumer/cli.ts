#!/usr/bin/env node
import { exitWith, kInterruptedExitCode } from '../options.js';
import { consumerHelpText, parseConsumerArgs } from './options.js';
import { formatHuman, formatJson } from './report.js';
import { runConsumer } from './run.js';

/**
 * `aggregator-consumer`: exit 0 when the run ended without a failed request (and --verify agreed),
 * 1 when a request finally failed, the check failed or an option is bad, 130 when interrupted.
 */
async function main(): Promise<number> {
  const commandLine = parseConsumerArgs(process.argv.slice(2));
  if (commandLine.help || !commandLine.options) {
    process.stdout.write(`${consumerHelpText()}\n`);
    return 0;
  }
  const { options } = commandLine;

  // First Ctrl-C: stop fetching, let running handlers finish and send their acks. Second: leave at once.
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(kInterruptedExitCode);
    process.stderr.write('\ninterrupted: finishing running handlers and their acks (Ctrl-C again to quit at once)\n');
    controller.abort();
  });

  const report = await runConsumer(options, { signal: controller.signal });
  const text = `${options.json ? formatJson(report) : formatHuman(report)}\n`;
  // With --print, stdout is the events' NDJSON: the report must not end up among them.
  (options.print ? process.stderr : process.stdout).write(text);
  // The report may go to a file or a pipe; why the run failed must also reach whoever watches stderr.
  if (report.error && !options.print) process.stderr.write(`error: ${report.error.code}: ${report.error.message}\n`);
  if (report.interrupted) return kInterruptedExitCode;
  return report.ok ? 0 : 1;
}

exitWith(main());
