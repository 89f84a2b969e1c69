import type { Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { createApp, startServer } from './app';
import { ConfigError, loadConfig } from './config';
import { Metrics } from './metrics';
import { DataDirLockedError } from './orm/embedded';
import { UserOrderCompactor } from './orm/user-order';
import { deliveryWorker, ensureBootstrap, openRoster, type Roster } from './roster';

const SHUTDOWN_GRACE_MS = 8_000;

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`roster: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = pino({
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', '*.password', '*.token', '*.secret'], censor: '[redacted]' },
  });

  const started = Date.now();
  const roster = await openRoster(config, {
    onWarning: (message) => logger.warn({ source: 'database' }, message),
    withRevocationFeed: true,
  });
  logger.info(
    { database: config.databaseUrl ? 'postgresql' : 'embedded', dataDir: config.databaseUrl ? undefined : config.dataDir, ms: Date.now() - started },
    'database ready, migrations applied',
  );
  if (config.bootstrapToken) {
    const outcome = await ensureBootstrap(roster, config.bootstrapToken);
    if (outcome === 'revoked') logger.warn('ROSTER_BOOTSTRAP_TOKEN names a revoked credential: it stays revoked');
    else logger.info({ outcome }, 'bootstrap credential for organization "default" in place');
  }

  // Folds the user-order deltas the triggers append into counted ranges (orm/user-order.ts).
  const compactor = new UserOrderCompactor(roster.database.orm, {
    onError: (error) => logger.warn({ err: error, source: 'user-order' }, 'compacting the user order index failed; retrying'),
  });
  compactor.start();

  const metrics = new Metrics();
  const app = createApp(roster, logger, metrics);
  const server: Server = await startServer(app, config);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  const delivery = startDelivery(roster, port, logger, metrics);
  // The request log's background prune; its held entries are stored by roster.close() on the way out.
  roster.requestLog.writer?.start();
  logger.info({ port }, `Roster listening: SCIM at http://localhost:${port}/scim/v2`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing connections');
      server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      Promise.all([compactor.stop(), delivery.stop()])
        .then(() => roster.close())
        .then(() => {
          logger.info('stopped');
          process.exit(0);
        })
        .catch((error) => {
          logger.error({ err: error }, 'closing the database failed');
          process.exit(1);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // After the signal handlers: a stop during this lookup is a graceful stop.
  await offerSetup(roster, port, logger).catch((error: unknown) => logger.warn({ err: error, source: 'console' }, 'could not offer a setup link'));
}

/**
 * First run: while no console administrator exists, logs a setup link (valid for an
 * hour, used once) at which the first visitor creates the instance administrator. The
 * token is in the link's fragment, so it reaches no server or proxy log on the way.
 */
async function offerSetup(roster: Roster, port: number, logger: Logger): Promise<void> {
  const token = await roster.consoleAdmins.openSetup();
  if (!token) return;
  const origin = roster.config.publicBaseUrl ?? `http://localhost:${port}`;
  logger.warn(
    { source: 'console' },
    `no console administrator yet: open ${origin}/admin/#setup=${token} within an hour to create the instance administrator (the link works once; or run \`roster admin create\`)`,
  );
}

/**
 * Pushes the outbox's security events to the organizations' receivers (events/delivery.ts),
 * and moves the queued events into the outbox at least every second even when nobody reads
 * it (orm/event-sequencer.ts; roster.close() stops it).
 */
function startDelivery(roster: Roster, port: number, logger: Logger, metrics: Metrics) {
  roster.sequencer.start({
    onError: (error) => logger.warn({ err: error, source: 'events' }, 'sequencing provisioning events failed; retrying'),
  });
  const delivery = deliveryWorker(roster, port, {
    onFailing: (receiver) =>
      logger.warn({ source: 'delivery', receiver: receiver.id, url: receiver.url, lastError: receiver.lastError }, 'event receiver failing for 72 hours'),
    onFailingCount: (count) => metrics.receiversFailing.set(count),
    onError: (error) => logger.warn({ err: error, source: 'delivery' }, 'event delivery round failed; retrying'),
  });
  delivery.start();
  return delivery;
}

main().catch((error) => {
  if (error instanceof DataDirLockedError || error instanceof ConfigError) {
    process.stderr.write(`roster: ${error.message}\n`);
  } else {
    process.stderr.write(`roster: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
