import pino from 'pino';
import { Aggregator } from './aggregator.js';
import { helpText, parseCommandLine } from './config.js';
import { ConfigError } from './errors.js';

async function main(): Promise<void> {
  const commandLine = parseCommandLine(process.argv.slice(2), process.env);
  if (commandLine.help) {
    process.stdout.write(`${helpText()}\n`);
    return;
  }
  const { config } = commandLine;
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  const aggregator = await Aggregator.start(config, { logger });
  logger.info({ port: aggregator.port, ...(aggregator.elasticsearchPort === null ? {} : { elasticsearchPort: aggregator.elasticsearchPort }), host: config.host, dataDir: config.dataDir, shards: config.shards, sync: config.sync }, 'listening');

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
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error));
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
});
