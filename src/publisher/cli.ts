#!/usr/bin/env node
import { exitWith, kInterruptedExitCode } from '../options.js';
import { parsePublisherArgs, publisherHelpText } from './options.js';
import { formatHuman, formatJson } from './report.js';
import { runPublisher } from './run.js';

/**
 * `aggregator-publisher`: exit 0 when every event was acknowledged (and --verify agreed), 1 when a
 * request finally failed, the check failed or an option is bad, 130 when interrupted.
 */
async function main(): Promise<number> {
  const commandLine = parsePublisherArgs(process.argv.slice(2));
  if (commandLine.help) {
    process.stdout.write(`${publisherHelpText()}\n`);
    return 0;
  }
  const { options } = commandLine;

  // First Ctrl-C: stop sending and report what got through. Second: leave at once.
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(kInterruptedExitCode);
    process.stderr.write('\ninterrupted: stopping (Ctrl-C again to quit at once)\n');
    controller.abort();
  });

  const report = await runPublisher(options, { signal: controller.signal });
  process.stdout.write(`${options.json ? formatJson(report) : formatHuman(report)}\n`);
  // The report may go to a file or a pipe; why the run failed must also reach whoever watches stderr.
  if (report.error) process.stderr.write(`error: ${report.error.code}: ${report.error.message}\n`);
  if (report.interrupted) return kInterruptedExitCode;
  return report.ok ? 0 : 1;
}

exitWith(main());
