// The `worker` table: one row per worker process, refreshed by a heartbeat. The sweeper reads it
// to find jobs whose worker died, and the GPU queue reads it to say whether a GPU worker is up.
import type { Queryable } from './job-rows.js';
import { NOW_UTC } from './job-rows.js';

export interface WorkerIdentity {
  id: string;
  hostname: string;
  pid: number;
  /** TensorFlow.js backend the worker runs on. */
  backend: string;
  gpu: boolean;
  queues: readonly string[];
  concurrency: number;
}

export async function registerWorker(client: Queryable, worker: WorkerIdentity): Promise<void> {
  await client.query(
    `INSERT INTO worker (id, hostname, pid, backend, gpu, queues, concurrency, started_at,
                         heartbeat_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, ${NOW_UTC}, ${NOW_UTC})`,
    [
      worker.id,
      worker.hostname,
      worker.pid,
      worker.backend,
      worker.gpu,
      worker.queues,
      worker.concurrency,
    ],
  );
}

export async function sendHeartbeat(client: Queryable, workerId: string): Promise<void> {
  await client.query(`UPDATE worker SET heartbeat_at = ${NOW_UTC} WHERE id = $1`, [workerId]);
}

/** Marks a worker as stopped, so the sweeper returns any job it still has without waiting. */
export async function markWorkerStopped(client: Queryable, workerId: string): Promise<void> {
  await client.query(
    `UPDATE worker SET stopped_at = ${NOW_UTC}, heartbeat_at = ${NOW_UTC} WHERE id = $1`,
    [workerId],
  );
}

/** Number of running GPU workers whose last heartbeat is at most `staleSeconds` old. */
export async function countLiveGpuWorkers(
  client: Queryable,
  staleSeconds: number,
): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM worker
      WHERE gpu AND stopped_at IS NULL
        AND heartbeat_at > ${NOW_UTC} - make_interval(secs => $1)`,
    [staleSeconds],
  );
  return rows[0]?.n ?? 0;
}

/** Deletes rows of workers silent for more than `days` days, keeping the table small. */
export async function pruneWorkers(client: Queryable, days: number): Promise<void> {
  await client.query(
    `DELETE FROM worker WHERE heartbeat_at < ${NOW_UTC} - make_interval(days => $1)
        AND NOT EXISTS (SELECT 1 FROM job WHERE job.worker_id = worker.id)`,
    [days],
  );
}
