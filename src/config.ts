// Server configuration, read once from environment variables. Every value has a default and a
// one-line meaning; README.md lists the same table.
import path from 'node:path';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type BackendName = 'wasm' | 'cpu' | 'tensorflow';

export interface AppConfig {
  /** HTTP port of GraphQL, websockets, uploads and the dashboard. */
  port: number;
  /** Interface the HTTP server binds to. */
  host: string;
  /** Postgres URL; undefined means the embedded PGlite database under `dataDir`. */
  databaseUrl: string | undefined;
  /** Folder of the embedded database and other local state. */
  dataDir: string;
  /** pino log level. */
  logLevel: LogLevel;
  /** Longest accepted line of an uploaded file, in bytes. */
  maxUploadLineBytes: number;
  /** Whether `serve` also runs a job worker in the same process. */
  inProcessWorker: boolean;
  /** Jobs one worker process runs at the same time. */
  workerConcurrency: number;
  /** TensorFlow.js backend of this process's worker. */
  backend: BackendName;
  /** Whether GraphQL and HTTP routes require an API token. */
  authRequired: boolean;
  /** Retries of a failed job attempt, with exponential backoff from 2 s. */
  jobRetryLimit: number;
  /** Seconds after which the queue fails a job attempt still running (a hung attempt). */
  jobExpireSeconds: number;
  /** Seconds without a heartbeat after which a worker is lost and its jobs are queued again. */
  workerStaleSeconds: number;
  /** Seconds a stopping worker waits for running jobs to checkpoint before it exits anyway. */
  shutdownGraceSeconds: number;
  /** Examples per committed window of a scoring job. */
  scoreWindowSize: number;
  /** Examples per rater forward pass when scoring. */
  scoreBatchSize: number;
}

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
const BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'tensorflow'];

/**
 * Reads the configuration from `env`. Throws an Error naming the variable and the bad value when a
 * variable is set to something invalid.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  return {
    port: readInteger(env, 'PORT', 4000, 0, 65535),
    host: env.HOST ?? '127.0.0.1',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.DATA_DIR ?? '.data'),
    logLevel: readChoice(env, 'LOG_LEVEL', 'info', LOG_LEVELS),
    // 256 MiB is the largest line the upload parser accepts (V8 strings are limited to about 512 MiB).
    maxUploadLineBytes: readInteger(
      env,
      'MAX_UPLOAD_LINE_BYTES',
      16 * 1024 * 1024,
      1,
      256 * 1024 * 1024,
    ),
    inProcessWorker: readBoolean(env, 'IN_PROCESS_WORKER', true),
    workerConcurrency: readInteger(env, 'WORKER_CONCURRENCY', 1, 1, 64),
    backend: readChoice(env, 'TFJS_BACKEND', 'wasm', BACKENDS),
    authRequired: readBoolean(env, 'AUTH_REQUIRED', false),
    jobRetryLimit: readInteger(env, 'JOB_RETRY_LIMIT', 3, 0, 100),
    jobExpireSeconds: readInteger(env, 'JOB_EXPIRE_SECONDS', 6 * 3600, 60, 23 * 3600),
    workerStaleSeconds: readInteger(env, 'WORKER_STALE_SECONDS', 30, 2, 3600),
    shutdownGraceSeconds: readInteger(env, 'SHUTDOWN_GRACE_SECONDS', 30, 1, 3600),
    scoreWindowSize: readInteger(env, 'SCORE_WINDOW_SIZE', 2048, 1, 1_000_000),
    scoreBatchSize: readInteger(env, 'SCORE_BATCH_SIZE', 256, 1, 65_536),
  };
}

function readInteger(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;

  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `Invalid ${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}.`,
    );
  }
  return value;
}

function readBoolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new Error(`Invalid ${name}=${JSON.stringify(raw)}: expected true or false.`);
}

function readChoice<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: T,
  choices: readonly T[],
): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new Error(`Invalid ${name}=${JSON.stringify(raw)}: expected one of ${choices.join(', ')}.`);
}
