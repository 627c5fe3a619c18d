// Shared set-up of the job tests: datasets with examples, global ids, GraphQL error checks.
import crypto from 'node:crypto';
import { expect } from 'vitest';
import type { GraphQLResponse, TestServer } from './helpers/server.js';

export function globalId(type: string, key: string): string {
  return Buffer.from(`${type}:${key}`, 'utf8').toString('base64url');
}

export function keyOf(id: string): string {
  return Buffer.from(id, 'base64url').toString('utf8').split(':')[1]!;
}

export async function createDataset(t: TestServer, name: string): Promise<string> {
  const res = await t.gql<{ createDataset: { id: string } }>(
    'mutation ($input: CreateDatasetInput!) { createDataset(input: $input) { id } }',
    { input: { name } },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.createDataset.id;
}

export interface ExampleInput {
  text: string;
  split?: 'TRAIN' | 'HELDOUT';
  source?: string;
  label?: string;
}

/** Inserts examples directly, so job tests do not depend on the upload route. */
export async function insertExamples(
  t: TestServer,
  datasetId: string,
  rows: ExampleInput[],
): Promise<void> {
  await t.db.prisma.example.createMany({
    data: rows.map((row) => ({
      datasetId: keyOf(datasetId),
      text: row.text,
      split: row.split ?? 'TRAIN',
      source: row.source ?? null,
      label: row.label ?? null,
      byteLength: Buffer.byteLength(row.text),
      contentHash: crypto.createHash('sha256').update(row.text).digest('hex'),
    })),
  });
}

/** Seeded pseudo-random texts: prose-like lines and noise lines, from a few sources. */
export function syntheticExamples(count: number, heldoutEvery = 5, seed = 1): ExampleInput[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const words = ['the', 'data', 'rater', 'scores', 'every', 'example', 'held', 'out', 'loss'];
  const rows: ExampleInput[] = [];
  for (let i = 0; i < count; i++) {
    const noisy = next() < 0.3;
    const text = noisy
      ? Array.from({ length: 40 }, () => String.fromCharCode(33 + Math.floor(next() * 90))).join('')
      : Array.from({ length: 12 }, () => words[Math.floor(next() * words.length)]).join(' ');
    rows.push({
      text,
      split: i % heldoutEvery === heldoutEvery - 1 ? 'HELDOUT' : 'TRAIN',
      source: noisy ? 'noise' : 'prose',
      label: noisy ? 'bad' : 'good',
    });
  }
  return rows;
}

/** Asserts that a response failed with `code` and a message containing every fragment. */
export function expectError(
  res: GraphQLResponse<unknown>,
  code: string,
  ...fragments: string[]
): void {
  expect(res.data ?? null).toBeNull();
  const error = res.errors?.[0];
  expect(error?.extensions?.code).toBe(code);
  for (const fragment of fragments) expect(error?.message).toContain(fragment);
}

export const JOB_FIELDS = `id kind status progress message error attempts result
  raterVersion { id status version error config } dataset { id } curation { id keptCount }
  evaluation { id result }`;

export interface JobData {
  id: string;
  kind: string;
  status: string;
  progress: number;
  message: string | null;
  error: string | null;
  attempts: number;
  result: Record<string, unknown> | null;
  raterVersion: {
    id: string;
    status: string;
    version: number;
    error: string | null;
    config: Record<string, unknown>;
  } | null;
  dataset: { id: string } | null;
  curation: { id: string; keptCount: number } | null;
  evaluation: { id: string; result: Record<string, unknown> } | null;
}

export async function readJob(t: TestServer, id: string): Promise<JobData> {
  const res = await t.gql<{ job: JobData }>(`query ($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, {
    id,
  });
  expect(res.errors).toBeUndefined();
  return res.data!.job;
}

/** Polls job `id` until `done` returns true (at most `timeoutMs`); returns the last state. */
export async function waitForJob(
  t: TestServer,
  id: string,
  done: (job: JobData) => boolean,
  timeoutMs = 90_000,
): Promise<JobData> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await readJob(t, id);
    if (done(job)) return job;
    if (Date.now() > deadline) {
      throw new Error(`job ${id} did not reach the expected state: ${JSON.stringify(job)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export const isFinished = (job: JobData) =>
  job.status === 'SUCCEEDED' || job.status === 'FAILED' || job.status === 'CANCELED';
