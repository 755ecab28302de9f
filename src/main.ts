import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Aggregator } from './aggregator.js';
import { helpText, parseCommandLine } from './config.js';
import { ConfigError } from './errors.js';
import { backupDataDir, restoreDataDir } from './store/backup.js';

/** `backup --data-dir D --to B` and `restore --from B --data-dir D`: one shot, then exit. */
function copyCommand(command: 'backup' | 'restore', argv: readonly string[]): void {
  let values: { 'data-dir'?: string; to?: string; from?: string };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { 'data-dir': { type: 'string' }, to: { type: 'string' }, from: { type: 'string' } }, strict: true }));
  } catch (error) {
    throw new ConfigError(`${command}: ${(error as Error).message}`);
  }
  const dataDir = values['data-dir'] ?? process.env.DATA_DIR;
  const other = command === 'backup' ? values.to : values.from;
  if (!dataDir || !other) throw new ConfigError(command === 'backup' ? 'usage: backup --data-dir <dir> --to <empty dir>' : 'usage: restore --from <backup dir> --data-dir <empty dir>');
  const result = command === 'backup' ? backupDataDir(resolve(dataDir), resolve(other)) : restoreDataDir(resolve(other), resolve(dataDir));
  process.stdout.write(`${JSON.stringify({ msg: command === 'backup' ? 'backed up' : 'restored', ...result })}\n`);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'backup' || command === 'restore') return copyCommand(command, rest);
  const commandLine = parseCommandLine(process.argv.slice(2), process.env);
  if (commandLine.help) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  const { config } = commandLine;
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  const aggregator = await Aggregator.start(config, { logger });

  let signals = 0;
  const stop = (signal: string): void => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    logger.info({ signal }, 'draining');
    aggregator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => aggregator.reloadTls());
  // Only now: whoever waits for this line may signal at once, and a signal without a handler kills.
  logger.info({ port: aggregator.port, ...(aggregator.elasticsearchPort === null ? {} : { elasticsearchPort: aggregator.elasticsearchPort }), host: config.host, tls: config.tlsCert !== '', ...(config.tlsClientCa === '' ? {} : { clientCertificates: 'required' }), dataDir: config.dataDir, shards: config.shards, sync: config.sync }, 'listening');
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error));
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
});
