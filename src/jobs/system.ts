// The job system of one process: the queue, the event listener and the sweeper that returns the
// jobs of dead workers to the queue. The server starts one (whether or not it also runs a worker);
// every `datarater worker` process starts its own.
import crypto from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import type { JobHandlers } from './context.js';
import { JobEvents } from './events.js';
import { insertJob, type NewJob } from './job-rows.js';
import { JobQueue } from './queue.js';
import { gpuQueueMessage, type JobSettings } from './settings.js';
import { Sweeper } from './sweeper.js';
import { countLiveGpuWorkers } from './workers.js';

export class JobSystem {
  private constructor(
    /**
     * Workers running in this process. The sweeper never declares them lost, because they run here
     * even when their heartbeat write waited (the embedded database runs one transaction at a time,
     * so a long import delays every other write).
     */
    readonly localWorkers: Set<string>,
    readonly db: Database,
    readonly queue: JobQueue,
    readonly events: JobEvents,
    readonly settings: JobSettings,
    readonly handlers: JobHandlers,
    private readonly sweeper: Sweeper,
  ) {}

  static async start(options: {
    db: Database;
    settings: JobSettings;
    handlers: JobHandlers;
    logger: Logger;
  }): Promise<JobSystem> {
    const { db, settings, handlers, logger } = options;
    const queue = await JobQueue.start(db.url, settings, logger);
    const events = new JobEvents(db.url, db.embedded, logger);
    await events.start();

    const localWorkers = new Set<string>();
    const sweeper = new Sweeper({ db, queue, events, settings, handlers, logger, localWorkers });
    sweeper.start();
    return new JobSystem(localWorkers, db, queue, events, settings, handlers, sweeper);
  }

  /**
   * Inserts a job row and its queue entry inside the caller's transaction, so both commit or
   * neither does. Call `published` after the commit.
   */
  async enqueue(client: pg.ClientBase, job: Omit<NewJob, 'id'> & { id?: string }): Promise<string> {
    const id = job.id ?? crypto.randomUUID();
    await insertJob(client, { ...job, id });
    await this.queue.send(job.queueName, { jobId: id }, id, client);
    return id;
  }

  /** Wakes local subscribers and idle workers after a transaction that wrote job rows commits. */
  published(jobIds: readonly string[], queued = false): void {
    this.events.published(jobIds, queued);
  }

  /** Returns the message of a job queued for a GPU worker, by whether one is up. */
  async gpuQueueMessage(client: pg.ClientBase | pg.Pool = this.db.pool): Promise<string> {
    const live = await countLiveGpuWorkers(client, this.settings.workerStaleSeconds);
    return gpuQueueMessage(live, this.settings.workerStaleSeconds);
  }

  /** Runs one sweep now (tests and shutdown use it; it also runs on a timer). */
  sweep(): Promise<void> {
    return this.sweeper.sweep();
  }

  async stop(): Promise<void> {
    await this.sweeper.stop();
    await this.events.stop();
    await this.queue.stop();
  }
}
