// The jobUpdated subscription: a stream of job events, each the job row as it is now and the
// training-curve points added since the previous event. Wake-ups come from JobEvents (NOTIFY
// from any process, or in-process on the embedded database); a slow poll covers notifications
// lost while the listening connection reconnects.
import type { Database } from '../db/client.js';
import type { Job } from '../generated/prisma/client.js';
import { isTerminal, type JobStatus } from '../jobs/kinds.js';
import type { JobSystem } from '../jobs/system.js';
import { jobNotFound } from './job-control.js';
import { requireUuid } from './job-data.js';

export interface JobEvent {
  job: Job;
  /** Training-curve points added since the previous event (all points in the first event). */
  trainingPoints: unknown[];
}

const POLL_MS = 5000;

/**
 * Streams updates of job `jobId`: one event at once with the current state, then one per change,
 * ending after the event that shows the job SUCCEEDED, FAILED or CANCELED. Throws NOT_FOUND
 * naming the id before the first event when the job does not exist.
 */
export async function watchJob(
  db: Database,
  jobs: JobSystem,
  jobId: string,
): Promise<AsyncIterableIterator<JobEvent>> {
  requireUuid(jobId, 'Job');
  const first = await db.prisma.job.findUnique({ where: { id: jobId } });
  if (!first) throw jobNotFound(jobId);
  return new JobEventStream(db, jobs, jobId);
}

class JobEventStream implements AsyncIterableIterator<JobEvent> {
  private pointsSent = 0;
  private lastUpdatedAt: number | null = null;
  private finished = false;
  private dirty = true;
  private wake: (() => void) | null = null;
  private readonly unsubscribe: () => void;
  private readonly poll: NodeJS.Timeout;

  constructor(
    private readonly db: Database,
    jobs: JobSystem,
    private readonly jobId: string,
  ) {
    this.unsubscribe = jobs.events.onJob(jobId, () => this.signal());
    this.poll = setInterval(() => this.signal(), POLL_MS);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<JobEvent> {
    return this;
  }

  async next(): Promise<IteratorResult<JobEvent>> {
    while (!this.finished) {
      if (!this.dirty) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      this.dirty = false;

      const event = await this.read();
      if (event) return { value: event, done: false };
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<JobEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  private signal(): void {
    this.dirty = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    this.unsubscribe();
    clearInterval(this.poll);
    this.signal();
  }

  /** Reads the job and its new curve points; returns null when nothing changed. */
  private async read(): Promise<JobEvent | null> {
    const job = await this.db.prisma.job.findUnique({ where: { id: this.jobId } });
    if (!job) {
      this.close();
      return null;
    }

    const points = await this.newPoints(job);
    const updatedAt = job.updatedAt.getTime();
    const changed = updatedAt !== this.lastUpdatedAt || points.length > 0;
    this.lastUpdatedAt = updatedAt;
    if (isTerminal(job.status as JobStatus)) this.close();
    return changed || this.finished ? { job, trainingPoints: points } : null;
  }

  private async newPoints(job: Job): Promise<unknown[]> {
    const raterVersionId = (job.subjects as { raterVersionId?: string } | null)?.raterVersionId;
    if (job.kind !== 'META_TRAIN' || !raterVersionId) return [];

    const { rows } = await this.db.pool.query<{ points: unknown[]; total: number }>(
      `SELECT COALESCE((SELECT jsonb_agg(point ORDER BY position)
                          FROM jsonb_array_elements(training_curve)
                               WITH ORDINALITY AS p(point, position)
                         WHERE position > $2), '[]'::jsonb) AS points,
              jsonb_array_length(training_curve) AS total
         FROM rater_version WHERE id = $1`,
      [raterVersionId, this.pointsSent],
    );
    const row = rows[0];
    if (!row) return [];
    // A resumed attempt truncates the curve to its checkpoint; count from the truncated length.
    if (row.total < this.pointsSent) this.pointsSent = row.total;
    this.pointsSent += row.points.length;
    return row.points;
  }
}
