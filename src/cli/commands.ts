// The client commands of the `datarater` CLI: import, train, score, curate, evaluate and export.
// Each talks to a server's GraphQL API (client.ts finds the server) and follows the job it starts.
// Results go to stdout as JSON, progress to stderr.
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ServerConnection } from './client.js';
import { followJob, JOB_FIELDS, type JobView } from './follow.js';
import { createProgress } from './progress.js';

/** Looks up a dataset id by name; throws naming the dataset when there is none. */
export async function datasetIdByName(server: ServerConnection, name: string): Promise<string> {
  const data = await server.request<{ dataset: { id: string } | null }>(
    'query ($name: String!) { dataset(name: $name) { id } }',
    { name },
  );
  if (!data.dataset) {
    throw new Error(`Dataset ${JSON.stringify(name)} was not found. List datasets with the API.`);
  }
  return data.dataset.id;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Resolves a rater version reference: a RaterVersion id (global or the database UUID), `NAME:VERSION`, or `NAME` for the
 * latest READY version of rater NAME.
 */
export async function raterVersionId(server: ServerConnection, ref: string): Promise<string> {
  if (Buffer.from(ref, 'base64url').toString('utf8').startsWith('RaterVersion:')) return ref;
  if (UUID.test(ref))
    return Buffer.from(`RaterVersion:${ref.toLowerCase()}`, 'utf8').toString('base64url');

  const colon = ref.lastIndexOf(':');
  const name = colon > 0 ? ref.slice(0, colon) : ref;
  const wanted = colon > 0 ? Number(ref.slice(colon + 1)) : null;
  const data = await server.request<{
    rater: { versions: { id: string; version: number; status: string }[] } | null;
  }>('query ($name: String!) { rater(name: $name) { versions { id version status } } }', {
    name,
  });
  if (!data.rater) throw new Error(`Rater ${JSON.stringify(name)} was not found.`);

  const versions = data.rater.versions;
  const match =
    wanted !== null
      ? versions.find((version) => version.version === wanted)
      : versions.filter((version) => version.status === 'READY').at(-1);
  if (!match) {
    throw new Error(
      wanted !== null
        ? `Rater ${JSON.stringify(name)} has no version ${wanted}.`
        : `Rater ${JSON.stringify(name)} has no READY version yet.`,
    );
  }
  return match.id;
}

/** Creates the dataset unless one with that name exists; returns its id. */
export async function ensureDataset(server: ServerConnection, name: string): Promise<string> {
  const existing = await server.request<{ dataset: { id: string } | null }>(
    'query ($name: String!) { dataset(name: $name) { id } }',
    { name },
  );
  if (existing.dataset) return existing.dataset.id;
  const created = await server.request<{ createDataset: { id: string } }>(
    'mutation ($input: CreateDatasetInput!) { createDataset(input: $input) { id } }',
    { input: { name } },
  );
  return created.createDataset.id;
}

export interface ImportFileOptions {
  file: string;
  dataset: string;
  format?: 'ndjson' | 'csv';
  onError: 'abort' | 'skip';
}

/** Streams a local NDJSON or CSV file to the upload route, creating the dataset if needed. */
export async function importFile(
  server: ServerConnection,
  options: ImportFileOptions,
): Promise<unknown> {
  const datasetId = await ensureDataset(server, options.dataset);
  const size = fs.statSync(options.file).size;
  const format = options.format ?? (options.file.toLowerCase().endsWith('.csv') ? 'csv' : 'ndjson');

  const progress = createProgress('import');
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      progress.update(size > 0 ? sent / size : 1, `${(sent / 1e6).toFixed(1)} MB sent`);
      callback(null, chunk);
    },
  });
  const body = fs.createReadStream(options.file).pipe(counter);

  const query = new URLSearchParams({ format, onError: options.onError });
  const response = await fetch(`${server.url}/api/datasets/${datasetId}/examples?${query}`, {
    method: 'POST',
    headers: {
      'content-type': format === 'csv' ? 'text/csv' : 'application/x-ndjson',
      ...(server.token ? { authorization: `Bearer ${server.token}` } : {}),
    },
    body: Readable.toWeb(body) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const report = (await response.json()) as { error?: { message: string } };
  if (!response.ok) {
    progress.done('failed');
    throw new Error(`Upload failed (${response.status}): ${report.error?.message ?? 'no message'}`);
  }
  progress.done(`uploaded ${(size / 1e6).toFixed(1)} MB`);
  return report;
}

export interface ImportCorpusOptions {
  dataset: string;
  shape: 'CHUNKS' | 'MESSAGES' | 'BODIES';
  chunkBytes: number;
  heldoutFraction: number;
  seed: number;
  maxMessages?: number;
}

/** Imports the built-in SpamAssassin corpus through the importCorpus mutation. */
export async function importCorpus(
  server: ServerConnection,
  options: ImportCorpusOptions,
): Promise<{ datasetId: string; imported: number }> {
  const data = await server.request<{
    importCorpus: { dataset: { id: string }; imported: number };
  }>(
    `mutation ($input: ImportCorpusInput!) {
       importCorpus(input: $input) { dataset { id } imported }
     }`,
    {
      input: {
        corpus: 'SPAM_ASSASSIN',
        datasetName: options.dataset,
        shape: options.shape,
        chunkBytes: options.chunkBytes,
        heldoutFraction: options.heldoutFraction,
        seed: options.seed,
        maxMessages: options.maxMessages ?? null,
      },
    },
  );
  return { datasetId: data.importCorpus.dataset.id, imported: data.importCorpus.imported };
}

/** Runs a mutation that returns a Job and follows the job; with `detach`, returns it queued. */
export async function runJob(
  server: ServerConnection,
  mutation: string,
  variables: Record<string, unknown>,
  label: string,
  detach: boolean,
  onPoints?: Parameters<typeof followJob>[3],
): Promise<JobView> {
  const data = await server.request<Record<string, JobView>>(mutation, variables);
  const job = Object.values(data)[0]!;
  if (detach) return job;
  return followJob(server, job.id, label, onPoints);
}

export const START_META_TRAINING = `mutation ($input: StartMetaTrainingInput!) {
  startMetaTraining(input: $input) { ${JOB_FIELDS} }
}`;

export const SCORE_DATASET = `mutation ($raterVersionId: ID!, $datasetId: ID!) {
  scoreDataset(raterVersionId: $raterVersionId, datasetId: $datasetId) { ${JOB_FIELDS} }
}`;

export const CURATE_DATASET = `mutation ($input: CurateDatasetInput!) {
  curateDataset(input: $input) { ${JOB_FIELDS} }
}`;

export const EVALUATE_CURATION = `mutation ($input: EvaluateCurationInput!) {
  evaluateCuration(input: $input) { ${JOB_FIELDS} }
}`;

export interface ExportOptions {
  dataset: string;
  format: 'jsonl' | 'csv' | 'parquet';
  output: string | undefined;
  raterVersion: string | undefined;
}

/** Downloads a dataset from the export route to a file (or stdout). */
export async function exportDataset(
  server: ServerConnection,
  options: ExportOptions,
): Promise<{ bytes: number; output: string }> {
  const datasetId = await datasetIdByName(server, options.dataset);
  const query = new URLSearchParams({ format: options.format });
  if (options.raterVersion) {
    query.set('raterVersionId', await raterVersionId(server, options.raterVersion));
  }
  const response = await fetch(`${server.url}/api/datasets/${datasetId}/export?${query}`, {
    headers: server.token ? { authorization: `Bearer ${server.token}` } : {},
  });
  if (!response.ok || !response.body) {
    const text = await response.text();
    throw new Error(`Export failed (${response.status}): ${text.slice(0, 500)}`);
  }

  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const target = options.output ? fs.createWriteStream(options.output) : process.stdout;
  await pipeline(
    Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
    counter,
    target,
  );
  return { bytes, output: options.output ?? '(stdout)' };
}
