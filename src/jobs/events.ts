// Job update events across processes. Every write to a job row sends `NOTIFY datarater_job,
// '<job id>'` in the same statement (see job-rows.ts). Each process keeps one dedicated pg
// connection that LISTENs and wakes the local subscribers of that id, who then read the row.
//
// On the embedded PGlite server LISTEN does not work across connections: PGlite is a single
// Postgres session shared by all socket connections, and pglite-socket 0.2 returns a notification
// to the connection whose statement raised it (checked with two pg clients). Embedded mode runs
// the server and its workers in one process, so there events go through an in-process emitter.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from 'pino';

export const JOB_CHANNEL = 'datarater_job';
/** Raised when a job is queued, so idle workers fetch at once instead of at their next poll. */
export const QUEUE_CHANNEL = 'datarater_queue';

/** Any job or queue change; the listener reads what it needs. */
const ANY = '*';

export class JobEvents {
  private readonly emitter = new EventEmitter();
  private listener: pg.Client | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  /**
   * @param url database of the dedicated listening connection
   * @param embedded whether `url` is the embedded PGlite server (events stay in this process)
   */
  constructor(
    private readonly url: string,
    readonly embedded: boolean,
    private readonly logger: Logger,
  ) {
    this.emitter.setMaxListeners(0);
  }

  /** Opens the listening connection (external Postgres only). */
  async start(): Promise<void> {
    if (this.embedded) return;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    this.emitter.removeAllListeners();
  }

  /** Calls `listener` after every update of job `jobId`; returns the function that unsubscribes. */
  onJob(jobId: string, listener: () => void): () => void {
    this.emitter.on(jobId, listener);
    this.emitter.on(ANY, listener);
    return () => {
      this.emitter.off(jobId, listener);
      this.emitter.off(ANY, listener);
    };
  }

  /** Calls `listener` when a job is queued anywhere; returns the function that unsubscribes. */
  onQueued(listener: () => void): () => void {
    this.emitter.on(QUEUE_CHANNEL, listener);
    this.emitter.on(ANY, listener);
    return () => {
      this.emitter.off(QUEUE_CHANNEL, listener);
      this.emitter.off(ANY, listener);
    };
  }

  /**
   * Reports writes this process made. On external Postgres the NOTIFY sent with the write reaches
   * every process, this one included, so nothing more is needed. On the embedded database the
   * event is emitted here.
   */
  published(jobIds: readonly string[], queued = false): void {
    if (!this.embedded) return;
    for (const id of jobIds) this.emitter.emit(id);
    if (queued) this.emitter.emit(QUEUE_CHANNEL);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'datarater-events',
    });
    client.on('notification', (message) => {
      if (message.channel === JOB_CHANNEL && message.payload) this.emitter.emit(message.payload);
      if (message.channel === QUEUE_CHANNEL) this.emitter.emit(QUEUE_CHANNEL);
    });
    client.on('error', (error) => {
      if (this.listener !== client) return;
      this.logger.warn({ err: error }, 'job event listener lost its connection; reconnecting');
      this.listener = null;
      void client.end().catch(() => undefined);
      this.scheduleReconnect();
    });

    try {
      await client.connect();
      await client.query(`LISTEN ${JOB_CHANNEL}`);
      await client.query(`LISTEN ${QUEUE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.listener = client;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopped) return;
      this.connect().then(
        // Notifications sent while disconnected are lost, so every subscriber re-reads its row.
        () => this.emitter.emit(ANY),
        (error: unknown) => {
          this.logger.warn({ err: error }, 'job event listener failed to reconnect; retrying');
          this.scheduleReconnect();
        },
      );
    }, 1000);
  }
}
