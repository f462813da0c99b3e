// Process entry: config → Director → listen → signals. Everything else lives in director.ts.

import { ConfigError, loadConfig } from './config.js';
import { createDirector } from './director.js';
import { createLogger, redactUrlsIn } from './lib/logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Director cannot start: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const director = await createDirector(config, { logger, env: process.env });
  const url = await director.start();
  logger.info({ url, store: director.store.kind, policy: config.scriptPolicy, instance: config.instanceId }, `Director listening on ${url}`);
  if (config.apiTokens.length === 0) {
    if (config.auth) logger.info('no API tokens configured: the API is open to local clients only (set DIRECTOR_API_TOKENS to expose it)');
    else logger.warn('DIRECTOR_AUTH=off: anyone who can reach this port can create tasks and so run code on this host');
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping: no new requests or slots; running scripts get the grace period');
    director.stop().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A promise some background loop forgot to handle must not take every running script down with it;
  // Node's default is to exit. Thrown exceptions still exit: after one, state may be inconsistent.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection; Director keeps running (this is a bug: please report it)');
  });
}

main().catch((error: unknown) => {
  // A driver's error may quote DIRECTOR_DATABASE_URL: its password is masked.
  process.stderr.write(`Director failed to start: ${redactUrlsIn(error instanceof Error ? error.stack ?? error.message : String(error))}\n`);
  process.exit(1);
});
