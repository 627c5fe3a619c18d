// Following a job from the CLI: jobUpdated events drive the progress display until the job ends.
import type { ServerConnection } from './client.js';
import { createProgress } from './progress.js';

export const JOB_FIELDS = 'id kind status progress message error attempts result';

export interface JobView {
  id: string;
  kind: string;
  status: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
  progress: number;
  message: string | null;
  error: string | null;
  attempts: number;
  result: Record<string, unknown> | null;
}

export interface TrainingPointView {
  step: number;
  outerLoss: number;
  metaGradNorm: number;
  ess: number;
  skipped: boolean;
}

const SUBSCRIPTION = `subscription ($id: ID!) {
  jobUpdated(id: $id) {
    job { ${JOB_FIELDS} }
    trainingPoints { step outerLoss metaGradNorm ess skipped }
  }
}`;

/**
 * Shows the progress of job `jobId` until it ends and returns its last state. Throws when the job
 * FAILED or was CANCELED, with the job's error.
 */
export async function followJob(
  server: ServerConnection,
  jobId: string,
  label: string,
  onPoints?: (points: TrainingPointView[]) => void,
): Promise<JobView> {
  const progress = createProgress(label);
  let last: JobView | null = null;
  await server.subscribe<{ jobUpdated: { job: JobView; trainingPoints: TrainingPointView[] } }>(
    SUBSCRIPTION,
    { id: jobId },
    ({ jobUpdated }) => {
      last = jobUpdated.job;
      if (jobUpdated.trainingPoints.length > 0) onPoints?.(jobUpdated.trainingPoints);
      progress.update(last.progress, last.message ?? last.status.toLowerCase());
    },
  );

  const job = last as JobView | null;
  if (!job) throw new Error(`The server sent no update of job ${jobId}.`);
  if (job.status !== 'SUCCEEDED') {
    progress.done(`${job.status}: ${job.error ?? job.message ?? 'no reason given'}`);
    throw new Error(`Job ${jobId} ${job.status}: ${job.error ?? job.message ?? 'no reason given'}`);
  }
  progress.done(job.message ?? 'done');
  return job;
}
