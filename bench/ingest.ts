// Upload throughput: streams a generated NDJSON or CSV upload of a given size through
// importExamples into a fresh database and reports rows/s, MB/s and peak memory. With
// --baseline it also times `psql \copy` of the same rows, the server's own limit.
//
//   npx tsx bench/ingest.ts --mb 600 --method copy
//   npx tsx bench/ingest.ts --mb 100 --method unnest --baseline
//   npx tsx bench/ingest.ts --mb 20 --embedded
//   npx tsx bench/ingest.ts --mb 100 --batch-rows 10000 --batch-mb 16
//
// The server is TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); the
// database is created for the run and dropped after it. --embedded uses PGlite instead.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import crypto from 'node:crypto';
import { openDatabase, type Database } from '../src/db/client.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { contentHash, type ExampleWriteMethod } from '../src/db/example-writer.js';
import { migrate } from '../src/db/migrate.js';
import { importExamples, type UploadFormat } from '../src/services/uploads.js';
import { createTestDatabase } from '../test/helpers/database.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '100' },
    method: { type: 'string', default: 'copy' },
    format: { type: 'string', default: 'ndjson' },
    baseline: { type: 'boolean', default: false },
    embedded: { type: 'boolean', default: false },
    'batch-rows': { type: 'string' },
    'batch-mb': { type: 'string' },
  },
});

const targetBytes = Number(args.mb) * 1e6;
const method = args.method as ExampleWriteMethod;
const format = args.format as UploadFormat;
if (
  !(targetBytes > 0) ||
  !['copy', 'unnest'].includes(method) ||
  !['ndjson', 'csv'].includes(format)
) {
  throw new Error(
    'Invalid arguments. Usage: bench/ingest.ts [--mb N] [--method copy|unnest] ' +
      '[--format ndjson|csv] [--baseline] [--embedded] [--batch-rows N] [--batch-mb N]',
  );
}

const WORDS =
  'the of and to in is that for it as was with be by on not he this are or his from at which ' +
  'but have an they you were her she there been one all we their has would when if so no will';
const VOCABULARY = WORDS.split(' ');

/** Returns a row of the generated upload: 100 to 900 bytes of words, an id, a source and a label. */
function makeRow(index: number, random: () => number) {
  const words: string[] = [];
  const length = 100 + Math.floor(random() * 800);
  let bytes = 0;
  while (bytes < length) {
    const word = VOCABULARY[Math.floor(random() * VOCABULARY.length)] as string;
    words.push(word);
    bytes += word.length + 1;
  }
  return {
    id: `row-${index}`,
    text: words.join(' '),
    source: `source-${index % 13}`,
    label: index % 3 === 0 ? 'spam' : 'ham',
  };
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Yields the upload in 1 MB chunks until `targetBytes`; counts rows and bytes as it goes. */
async function* generateUpload(counter: { rows: number; bytes: number }): AsyncGenerator<Buffer> {
  const random = mulberry32(1);
  if (format === 'csv') yield Buffer.from('id,text,source,label\n');

  while (counter.bytes < targetBytes) {
    let body = '';
    while (body.length < 1_000_000) {
      const row = makeRow(counter.rows, random);
      body +=
        format === 'ndjson'
          ? `${JSON.stringify(row)}\n`
          : `${row.id},"${row.text}",${row.source},${row.label}\n`;
      counter.rows += 1;
    }
    const chunk = Buffer.from(body);
    counter.bytes += chunk.length;
    yield chunk;
  }
}

/** Samples process memory every 100 ms and keeps the peaks. */
function watchMemory() {
  const peak = { rss: 0, heapUsed: 0, arrayBuffers: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.rss = Math.max(peak.rss, usage.rss);
    peak.heapUsed = Math.max(peak.heapUsed, usage.heapUsed);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, usage.arrayBuffers);
  };
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

async function createDataset(db: Database): Promise<string> {
  const id = crypto.randomUUID();
  await db.pool.query('INSERT INTO dataset (id, name, updated_at) VALUES ($1, $2, now())', [
    id,
    `bench-${id}`,
  ]);
  return id;
}

async function runUpload(db: Database, writeMethod: ExampleWriteMethod) {
  const datasetId = await createDataset(db);
  const counter = { rows: 0, bytes: 0 };
  const memory = watchMemory();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const report = await importExamples(db, datasetId, generateUpload(counter), {
    format,
    onError: 'abort',
    writeMethod,
    maxBatchRows: args['batch-rows'] === undefined ? undefined : Number(args['batch-rows']),
    maxBatchBytes: args['batch-mb'] === undefined ? undefined : Number(args['batch-mb']) * 2 ** 20,
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const peak = memory.stop();

  if (report.imported !== counter.rows) {
    throw new Error(`imported ${report.imported} rows, generated ${counter.rows}`);
  }
  // Node's own CPU time, generating the input included. Most of the remaining wall time is spent
  // waiting for Postgres.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { datasetId, rows: counter.rows, bytes: counter.bytes, seconds, cpuSeconds, peak };
}

/** Times `psql \copy` of the rows the upload generated, written to a TSV file first. */
async function runBaseline(url: string, datasetId: string, rows: number): Promise<number> {
  const file = path.join(os.tmpdir(), `ingest-baseline-${process.pid}.tsv`);
  const out = fs.createWriteStream(file);
  const random = mulberry32(1);
  for (let index = 0; index < rows; index++) {
    const row = makeRow(index, random);
    const line =
      `${datasetId}\tbaseline-${row.id}\tTRAIN\t${row.text}\t${row.label}\t${row.source}\t` +
      `${Buffer.byteLength(row.text)}\t${contentHash(row.text)}\t\\N\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));

  const started = performance.now();
  execFileSync('psql', [
    url,
    '-v',
    'ON_ERROR_STOP=1',
    '-c',
    `\\copy example (dataset_id, external_id, split, text, label, source, byte_length, ` +
      `content_hash, meta) FROM '${file}'`,
  ]);
  const seconds = (performance.now() - started) / 1000;
  fs.rmSync(file);
  return seconds;
}

function printResult(label: string, result: Awaited<ReturnType<typeof runUpload>>) {
  const mb = result.bytes / 1e6;
  console.log(
    `${label}: ${result.rows} rows, ${mb.toFixed(1)} MB in ${result.seconds.toFixed(1)} s = ` +
      `${Math.round(result.rows / result.seconds)} rows/s, ${(mb / result.seconds).toFixed(1)} MB/s; ` +
      `Node CPU ${result.cpuSeconds.toFixed(1)} s; ` +
      `peak rss ${(result.peak.rss / 2 ** 20).toFixed(0)} MiB, heap ` +
      `${(result.peak.heapUsed / 2 ** 20).toFixed(0)} MiB, buffers ` +
      `${(result.peak.arrayBuffers / 2 ** 20).toFixed(0)} MiB`,
  );
}

async function main() {
  console.log(
    `ingest bench: ${args.mb} MB ${format}, ${args.embedded ? 'embedded PGlite' : method}, ` +
      `${os.cpus().length} CPUs, Node ${process.version}`,
  );

  if (args.embedded) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-pglite-'));
    const embedded = await startEmbeddedPostgres(dataDir);
    await migrate(embedded.url);
    const db = openDatabase(embedded.url, { embedded: true, poolSize: 2 });
    try {
      printResult('upload (PGlite, unnest)', await runUpload(db, 'unnest'));
    } finally {
      await db.close();
      await embedded.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    return;
  }

  const db = await createTestDatabase('bench_ingest');
  try {
    const result = await runUpload(db, method);
    printResult(`upload (${method})`, result);

    if (args.baseline) {
      const seconds = await runBaseline(db.url, result.datasetId, result.rows);
      console.log(
        `psql \\copy of the same rows: ${seconds.toFixed(1)} s = ` +
          `${Math.round(result.rows / seconds)} rows/s; upload time / psql time = ` +
          `${(result.seconds / seconds).toFixed(2)}`,
      );
    }
  } finally {
    await db.drop();
  }
}

await main();
