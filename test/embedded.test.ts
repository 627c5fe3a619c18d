// The default set-up a new user gets: the real CLI under plain node, no DATABASE_URL, so the
// server starts the embedded PGlite database, migrates it and serves.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let child: ChildProcess;
let dataDir: string;
let url: string;
const logLines: string[] = [];

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'datarater-embedded-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'info',
    IN_PROCESS_WORKER: 'false',
    // As a user runs it: outside NODE_ENV=test, Apollo would install its own signal handlers.
    NODE_ENV: 'production',
  };
  delete env.DATABASE_URL;
  child = spawn(process.execPath, ['bin/datarater.js', 'serve'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });

  url = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      logLines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'server listening' && entry.url)
          resolve(entry.url.replace(/\/graphql$/, ''));
      } catch {
        // Not a log line (for example a warning printed by a dependency).
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`server exited with ${code}:\n${logLines.join('\n')}`)),
    );
  });
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('embedded database', () => {
  it('logs that it uses the embedded database', () => {
    expect(logLines.some((line) => line.includes('using embedded Postgres'))).toBe(true);
  });

  it('creates and reads a dataset', async () => {
    const post = async (query: string) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query }),
      });
      return (await response.json()) as {
        data?: Record<string, { name?: string; database?: string }>;
      };
    };

    const created = await post('mutation { createDataset(input: { name: "smoke" }) { name } }');
    expect(created.data?.createDataset?.name).toBe('smoke');

    const read = await post('query { dataset(name: "smoke") { name } serverInfo { database } }');
    expect(read.data?.dataset?.name).toBe('smoke');
    expect(read.data?.serverInfo?.database).toBe('embedded');
  });

  it('keeps its data under DATA_DIR', async () => {
    const entries = await fs.readdir(path.join(dataDir, 'pglite'));
    expect(entries.length).toBeGreaterThan(0);
  });

  it('exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logLines.some((line) => line.includes('shutting down'))).toBe(true);
  });
});
