// The durable queue: pg-boss on the application's own Postgres, in its own schema `pgboss`.
//
// Why pg-boss and not graphile-worker, the other Postgres-only queue for Node:
// - pg-boss exposes fetch(), complete() and fail() as plain calls, and each accepts the caller's
//   connection. A job row, the rows it creates (a rater version) and its queue entry commit in one
//   transaction, and so do a worker's final result and the queue's completion. That fetch loop
//   is also where attempts are fenced, concurrency is bounded across all queues, and an attempt
//   goes back to the queue on shutdown. graphile-worker runs jobs through its own task loop and
//   completes a job when its task function returns, which leaves none of these to us.
// - Retries with exponential backoff, cancellation, expiry of stuck attempts and archiving are
//   per-queue settings.
// - It runs on the embedded PGlite server too (checked: schema creation, send, fetch with
//   SKIP LOCKED, fail into retry).
// - pg-boss 10.x is the last line that runs on Node 20, which this project targets.
//
// Two things pg-boss 10 lacks are built here. It has no per-attempt heartbeat (it only expires an
// attempt a fixed time after it started), so workers heartbeat into the `worker` table and
// jobs/sweeper.ts returns the jobs of silent workers to the queue. Progress events go through
// LISTEN/NOTIFY in jobs/events.ts.
import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Logger } from 'pino';
import { ALL_QUEUES, type QueueName, type QueuePayload } from './kinds.js';

export interface QueueSettings {
  /** Retries after a failed attempt (so attempts = retryLimit + 1). */
  retryLimit: number;
  /** First retry delay in seconds; doubled (with jitter) on every further retry. */
  retryDelaySeconds: number;
  /**
   * Seconds after which pg-boss fails an attempt still active, whatever its worker does. A
   * backstop for a hung attempt: dead workers are caught sooner by their missing heartbeats.
   */
  expireSeconds: number;
}

/** A job taken off a queue. */
export interface FetchedJob {
  queue: QueueName;
  queueJobId: string;
  payload: QueuePayload;
  retryCount: number;
  retryLimit: number;
}

/** pg-boss state of a job, or null when pg-boss has archived or deleted it. */
export type QueueState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

export class JobQueue {
  private constructor(
    private readonly boss: PgBoss,
    readonly settings: QueueSettings,
  ) {}

  /**
   * Starts pg-boss on `url`: installs or migrates its schema, creates the queues (or updates
   * their retry and expiry settings) and starts its maintenance (expiry, archiving).
   */
  static async start(url: string, settings: QueueSettings, logger: Logger): Promise<JobQueue> {
    const boss = new PgBoss({
      connectionString: url,
      schema: 'pgboss',
      max: 4,
      schedule: false,
      application_name: 'datarater-queue',
    });
    boss.on('error', (error) => logger.error({ err: error }, 'pg-boss maintenance failed'));
    await boss.start();

    const queueOptions = {
      retryLimit: settings.retryLimit,
      retryDelay: settings.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: settings.expireSeconds,
    };
    for (const name of ALL_QUEUES) {
      await boss.createQueue(name, { name, ...queueOptions });
      await boss.updateQueue(name, { name, ...queueOptions });
    }
    return new JobQueue(boss, settings);
  }

  /** Adds a job with id `queueJobId`, inside `client`'s transaction when one is given. */
  async send(
    queue: QueueName,
    payload: QueuePayload,
    queueJobId: string,
    client?: pg.ClientBase,
  ): Promise<void> {
    const id = await this.boss.send(queue, { ...payload }, { id: queueJobId, ...onClient(client) });
    if (id === null) throw new Error(`JobQueue.send: pg-boss did not add job ${queueJobId}`);
  }

  /** Takes the next job of `queue`, or returns null when none is ready. */
  async fetch(queue: QueueName): Promise<FetchedJob | null> {
    const [job] = await this.boss.fetch<QueuePayload>(queue, {
      batchSize: 1,
      includeMetadata: true,
    });
    if (!job) return null;
    return {
      queue,
      queueJobId: job.id,
      payload: job.data,
      retryCount: job.retryCount,
      retryLimit: job.retryLimit,
    };
  }

  async complete(
    queue: QueueName,
    queueJobId: string,
    output: object,
    client?: pg.ClientBase,
  ): Promise<void> {
    await this.boss.complete(queue, queueJobId, output, onClient(client));
  }

  /**
   * Fails the current attempt. pg-boss moves the job to `retry` (with backoff) while retries
   * remain, else to `failed`. Returns the resulting state.
   */
  async fail(
    queue: QueueName,
    queueJobId: string,
    message: string,
    client?: pg.ClientBase,
  ): Promise<QueueState | null> {
    await this.boss.fail(queue, queueJobId, { message }, onClient(client));
    return this.state(queue, queueJobId, client);
  }

  async cancel(queue: QueueName, queueJobId: string, client?: pg.ClientBase): Promise<void> {
    await this.boss.cancel(queue, queueJobId, onClient(client));
  }

  async state(
    queue: QueueName,
    queueJobId: string,
    client?: pg.ClientBase,
  ): Promise<QueueState | null> {
    const job = await this.boss.getJobById(queue, queueJobId, {
      includeArchive: false,
      ...onClient(client),
    });
    return job?.state ?? null;
  }

  /** Stops maintenance and closes pg-boss's connections. Workers must be stopped first. */
  async stop(): Promise<void> {
    await this.boss.stop({ graceful: false, close: true, wait: true });
  }
}

/** pg-boss's hook for running a command on the caller's connection (and transaction). */
function onClient(client: pg.ClientBase | undefined): { db?: PgBoss.Db } {
  if (!client) return {};
  return {
    db: {
      executeSql: async (text: string, values: unknown[]) => {
        const result = await client.query(text, values);
        return { rows: result.rows };
      },
    },
  };
}
