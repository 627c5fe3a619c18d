// The `datarater` CLI as a user runs it: separate processes against a running server.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';
import { syntheticExamples } from './jobs-fixtures.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'datarater.js');

const TINY_CONFIG = {
  sequenceLength: 64,
  raterWidth: 8,
  raterBlocks: 1,
  innerEmbeddingSize: 8,
  innerHidden: 16,
  innerBatchSize: 8,
  outerBatchSize: 8,
  populationSize: 1,
  probeSize: 16,
  outerSteps: 6,
  checkpointInterval: 3,
};

let t: TestServer;
let dir: string;

beforeAll(async () => {
  t = await startTestServer('cli', { inProcessWorker: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datarater-cli-'));
});

afterAll(async () => {
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI with `args` against the test server; returns stdout and stderr. */
async function datarater(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args, '--url', t.url], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    maxBuffer: 64 * 1024 * 1024,
  });
}

describe('client commands', () => {
  it('import, train, score, curate and export', async () => {
    const file = path.join(dir, 'examples.jsonl');
    const lines = syntheticExamples(200).map((row) => JSON.stringify(row));
    fs.writeFileSync(file, `${lines.join('\n')}\n`);

    const imported = await datarater('import', file, '--dataset', 'cli-data');
    expect(JSON.parse(imported.stdout).imported).toBe(200);

    const trained = await datarater(
      'train',
      '--rater',
      'cli-rater',
      '--dataset',
      'cli-data',
      '--config',
      JSON.stringify(TINY_CONFIG),
    );
    expect(JSON.parse(trained.stdout).status).toBe('SUCCEEDED');
    // Not a terminal: plain progress lines, one per change, ending with the result.
    expect(trained.stderr).toMatch(/^meta-train \d+% /m);
    expect(trained.stderr).toContain('meta-train: Succeeded on attempt 1.');

    const scored = await datarater(
      'score',
      '--dataset',
      'cli-data',
      '--rater-version',
      'cli-rater',
    );
    expect(JSON.parse(scored.stdout).result.written).toBe(200);

    const curated = await datarater(
      'curate',
      '--dataset',
      'cli-data',
      '--rater-version',
      'cli-rater:1',
      '--discard',
      '0.5',
      '--name',
      'cli-curated',
    );
    expect(JSON.parse(curated.stdout).result.kept).toBe(80);

    const output = path.join(dir, 'curated.jsonl');
    const exported = await datarater(
      'export',
      '--dataset',
      'cli-curated',
      '--output',
      output,
      '--rater-version',
      'cli-rater',
    );
    expect(JSON.parse(exported.stdout).output).toBe(output);
    const rows = fs
      .readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { score?: number });
    expect(rows).toHaveLength(80);
    expect(rows.every((row) => typeof row.score === 'number')).toBe(true);
  });

  it('reports a bad config field', async () => {
    const failed = await datarater(
      'train',
      '--rater',
      'bad',
      '--dataset',
      'cli-data',
      '--config',
      '{"raterWidth": 0}',
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toHaveProperty('code', 1);
    expect(failed.stderr).toContain('raterWidth');
  });

  it('names a dataset that does not exist', async () => {
    const failed = await datarater(
      'score',
      '--dataset',
      'nope',
      '--rater-version',
      'cli-rater',
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failed.stderr).toContain('Dataset "nope" was not found');
  });
});

describe('worker command', () => {
  it('requires DATABASE_URL', async () => {
    const failed = await run(process.execPath, [BIN, 'worker'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toHaveProperty('code', 1);
    expect(failed.stderr).toContain('datarater worker needs DATABASE_URL');
  });
});
