// Real worker processes for the crash and shutdown tests: `node --import tsx src/main.ts worker`
// on a test database.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestServer } from './helpers/server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Seconds without a heartbeat after which the tests' workers count as lost. */
export const STALE_SECONDS = 3;

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process wrote to stderr (its JSON log lines) so far. */
  log(): string;
  /** Resolves with the exit code (or the signal) once the process has exited. */
  exited: Promise<number | NodeJS.Signals>;
}

/** Starts a worker process on the test server's database and waits until it has registered. */
export async function startWorkerProcess(
  t: TestServer,
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const before = await countWorkers(t);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: t.db.url,
      WORKER_STALE_SECONDS: String(STALE_SECONDS),
      LOG_LEVEL: 'info',
      TFJS_BACKEND: 'wasm',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );

  const worker = { child, log: () => output, exited };
  try {
    await waitFor(
      async () => (await countWorkers(t)) > before,
      'the worker process to register',
      60_000,
      () => child.exitCode !== null,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; its output: ${output.slice(-3000)}`);
  }
  return worker;
}

async function countWorkers(t: TestServer): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM worker');
  return rows[0]!.n;
}

/**
 * Polls `condition` every 100 ms until it returns true; throws naming `description` after `timeoutMs`, or at
 * once when `abort` returns true.
 */
export async function waitFor(
  condition: () => Promise<boolean>,
  description: string,
  timeoutMs = 60_000,
  abort: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (abort()) throw new Error(`gave up waiting for ${description}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Kills a process still running at the end of a test (SIGKILL), and waits for it. */
export async function stopProcess(worker: WorkerProcess | undefined): Promise<void> {
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGKILL');
  await worker.exited;
}
