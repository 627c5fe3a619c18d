// `datarater worker`: a job worker process on a shared Postgres, with no HTTP server.
import type { Logger } from 'pino';
import type { AppConfig } from '../config.js';
import { openConfiguredDatabase } from '../server/app.js';
import { startJobSystem, startJobWorker } from '../services/job-runner.js';

/**
 * Starts a worker on DATABASE_URL and returns the function that stops it gracefully: running
 * jobs checkpoint and go back to the queue, then the connections close. Throws when
 * DATABASE_URL is unset, because the embedded database serves only the process that opened it.
 */
export async function startWorkerProcess(
  config: AppConfig,
  logger: Logger,
): Promise<() => Promise<void>> {
  if (!config.databaseUrl) {
    throw new Error(
      'datarater worker needs DATABASE_URL pointing at the Postgres the server uses, for example ' +
        'DATABASE_URL=postgres://user@host:5432/datarater datarater worker. The embedded ' +
        'database serves only the process that opened it, so `npm start` runs its own worker.',
    );
  }

  const { db } = await openConfiguredDatabase(config, logger);
  const jobs = await startJobSystem(db, config, logger);
  const worker = await startJobWorker(jobs, config, logger);
  return async () => {
    await worker.stop();
    await jobs.stop();
    await db.close();
  };
}
