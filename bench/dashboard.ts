// Dashboard query latency at two dataset sizes. A dashboard query must not scan the scores, so
// its latency at 1M scored examples should stay within 2x of its latency at 10k.
//
// Usage: npx tsx bench/dashboard.ts [--sizes 10000,1000000] [--runs 40] [--keep]
//
// It creates a scratch database on the Postgres of TEST_POSTGRES_URL (default the local test
// server). It fills one dataset per size with generate_series (examples, then the scores of two
// rater versions) and stores the first version's score summaries. Then it starts the real server
// and times each GraphQL query over HTTP. Without --keep the database is dropped at the end.
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/db/client.js';
import { toGlobalId } from '../src/graphql/ids.js';
import { startServer } from '../src/server/app.js';
import { computeScoreSummary } from '../src/services/score-stats.js';
import { createTestDatabase } from '../test/helpers/database.js';

interface Options {
  sizes: number[];
  runs: number;
  keep: boolean;
}

interface Fixture {
  size: number;
  datasetId: string;
  versionId: string;
  otherVersionId: string;
  /** Score near the middle, for range queries. */
  median: number;
}

interface QueryCase {
  name: string;
  /** Dashboard reads must not scan; analytic queries read every score in scope. */
  kind: 'dashboard' | 'analytic';
  query: string;
  variables(fixture: Fixture): Record<string, unknown>;
}

const CASES: QueryCase[] = [
  {
    name: 'summary',
    kind: 'dashboard',
    query: `query ($v: ID!, $d: ID!) { scoreAnalytics(raterVersionId: $v, datasetId: $d) {
      count mean std min max } }`,
    variables: analyticsVariables,
  },
  {
    name: 'histogram(bins: 50)',
    kind: 'dashboard',
    query: `query ($v: ID!, $d: ID!) { scoreAnalytics(raterVersionId: $v, datasetId: $d) {
      histogram(bins: 50) { edges counts } } }`,
    variables: analyticsVariables,
  },
  {
    name: 'quantiles(9 qs)',
    kind: 'dashboard',
    query: `query ($v: ID!, $d: ID!) { scoreAnalytics(raterVersionId: $v, datasetId: $d) {
      quantiles(qs: [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]) { q value maxError } } }`,
    variables: analyticsVariables,
  },
  {
    name: 'per source and label',
    kind: 'dashboard',
    query: `query ($v: ID!, $d: ID!) { scoreAnalytics(raterVersionId: $v, datasetId: $d) {
      bySource { value count mean quantiles(qs: [0.1, 0.5, 0.9]) { value } }
      byLabel { value count mean quantiles(qs: [0.1, 0.5, 0.9]) { value } } } }`,
    variables: analyticsVariables,
  },
  {
    name: 'top 20',
    kind: 'dashboard',
    query: `query ($v: ID!, $d: ID!) { scoredExamples(raterVersionId: $v, datasetId: $d,
      order: DESC, first: 20) { edges { score node { id text source } } pageInfo { endCursor } } }`,
    variables: analyticsVariables,
  },
  {
    name: 'bottom 20',
    kind: 'dashboard',
    query: `query ($v: ID!, $d: ID!) { scoredExamples(raterVersionId: $v, datasetId: $d,
      order: ASC, first: 20) { edges { score node { id text source } } pageInfo { endCursor } } }`,
    variables: analyticsVariables,
  },
  {
    name: 'range page after a cursor',
    kind: 'dashboard',
    query: `query ($v: ID!, $d: ID!, $min: Float!, $after: String!) {
      scoredExamples(raterVersionId: $v, datasetId: $d, order: ASC, minScore: $min,
        first: 50, after: $after) {
        edges { score node { id text } } pageInfo { hasPreviousPage hasNextPage } } }`,
    variables: (fixture) => ({
      ...analyticsVariables(fixture),
      min: fixture.median,
      after: Buffer.from(JSON.stringify([fixture.median, 1])).toString('base64url'),
    }),
  },
  {
    name: 'compare two versions',
    kind: 'analytic',
    query: `query ($v: ID!, $w: ID!, $d: ID!) { compareRaterVersions(datasetId: $d,
      baseVersionId: $v, otherVersionId: $w, discardFraction: 0.2, rankChanges: 10) {
        count spearman kendall overlapFraction rankChanges { baseRank otherRank } } }`,
    variables: (fixture) => ({
      ...analyticsVariables(fixture),
      w: toGlobalId('RaterVersion', fixture.otherVersionId),
    }),
  },
  {
    name: 'rater report (5,000 sample)',
    kind: 'analytic',
    query: `query ($v: ID!, $d: ID!) { raterReport(raterVersionId: $v, datasetId: $d) {
      sampleSize rSquared features { feature pearson } } }`,
    variables: analyticsVariables,
  },
];

function analyticsVariables(fixture: Fixture): Record<string, unknown> {
  return {
    v: toGlobalId('RaterVersion', fixture.versionId),
    d: toGlobalId('Dataset', fixture.datasetId),
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const db = await createTestDatabase('bench_dashboard');
  console.error(`database ${db.name}`);
  try {
    const fixtures: Fixture[] = [];
    for (const size of options.sizes) fixtures.push(await buildFixture(db, size));

    const config = {
      ...loadConfig({}),
      port: 0,
      host: '127.0.0.1',
      databaseUrl: db.url,
      inProcessWorker: false,
    };
    const server = await startServer({ config, logger: pino({ level: 'warn' }), db });
    try {
      const results = [];
      for (const queryCase of CASES) {
        const perSize = await timeQuery(server.url, queryCase, fixtures, options.runs);
        results.push({ queryCase, perSize });
      }
      printTable(options, fixtures, results);
    } finally {
      await server.close();
    }
  } finally {
    if (options.keep) {
      await db.close();
      console.error(`kept database ${db.name}`);
    } else {
      await db.drop();
    }
  }
}

/** Fills one dataset of `size` examples and the scores of two rater versions in bulk SQL. */
async function buildFixture(db: Database, size: number): Promise<Fixture> {
  const started = performance.now();
  const dataset = await db.prisma.dataset.create({ data: { name: `bench-${size}` } });
  const rater = await db.prisma.rater.upsert({
    where: { name: 'bench' },
    create: { name: 'bench' },
    update: {},
  });
  const count = await db.prisma.raterVersion.count({ where: { raterId: rater.id } });
  const [version, other] = await Promise.all(
    [1, 2].map((offset) =>
      db.prisma.raterVersion.create({
        data: { raterId: rater.id, version: count + offset, status: 'READY', config: {} },
      }),
    ),
  );

  // Texts of varied length and case, 20 sources and 5 labels; setseed makes the scores repeatable.
  await db.pool.query(
    `INSERT INTO example (dataset_id, split, text, label, source, byte_length, content_hash)
     SELECT $1::uuid, CASE WHEN i % 10 = 0 THEN 'HELDOUT' ELSE 'TRAIN' END::"Split", t.text,
            'label-' || (i % 5), 'source-' || (i % 20), octet_length(t.text), md5(t.text)
       FROM generate_series(1, $2::int) AS i,
            LATERAL (SELECT repeat(CASE WHEN i % 3 = 0 THEN 'Word ' ELSE 'word, ' END, 1 + i % 40)
                              || i AS text) AS t`,
    [dataset.id, size],
  );
  const client = await db.pool.connect();
  try {
    await client.query('SELECT setseed(0.42)');
    for (const versionRow of [version!, other!]) {
      await client.query(
        `INSERT INTO score (rater_version_id, example_seq, dataset_id, score)
         SELECT $1::uuid, e.seq, e.dataset_id,
                (ln(e.byte_length) / 3 + random() - 0.5)::real
           FROM example e WHERE e.dataset_id = $2::uuid`,
        [versionRow.id, dataset.id],
      );
    }
  } finally {
    client.release();
  }
  await db.pool.query('ANALYZE example; ANALYZE score');
  const loaded = performance.now();

  const summary = await computeScoreSummary(db, version!.id, dataset.id);
  const summarized = performance.now();
  console.error(
    `size ${size}: loaded in ${((loaded - started) / 1000).toFixed(1)} s, ` +
      `summary in ${((summarized - loaded) / 1000).toFixed(2)} s`,
  );
  const quantiles = summary!.quantiles as Record<string, number>;
  return {
    size,
    datasetId: dataset.id,
    versionId: version!.id,
    otherVersionId: other!.id,
    median: quantiles['0.5']!,
  };
}

/**
 * Runs the query on every fixture a few times to warm caches, then `runs` times, alternating
 * between fixtures so that load from other processes affects all sizes alike. Returns the median
 * and p95 in ms per fixture.
 */
async function timeQuery(url: string, queryCase: QueryCase, fixtures: Fixture[], runs: number) {
  const bodies = fixtures.map((fixture) =>
    JSON.stringify({ query: queryCase.query, variables: queryCase.variables(fixture) }),
  );
  const send = async (body: string) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const result = (await response.json()) as { errors?: unknown[] };
    if (result.errors) {
      throw new Error(`${queryCase.name} failed: ${JSON.stringify(result.errors)}`);
    }
  };

  const analytic = queryCase.kind === 'analytic';
  const measured = analytic ? Math.max(3, Math.ceil(runs / 10)) : runs;
  for (let i = 0; i < (analytic ? 1 : 5); i++) {
    for (const body of bodies) await send(body);
  }
  const samples: number[][] = bodies.map(() => []);
  for (let i = 0; i < measured; i++) {
    for (const [k, body] of bodies.entries()) {
      const start = performance.now();
      await send(body);
      samples[k]!.push(performance.now() - start);
    }
  }
  return samples.map((values) => {
    values.sort((a, b) => a - b);
    return {
      median: values[Math.floor(values.length / 2)]!,
      p95: values[Math.min(values.length - 1, Math.floor(values.length * 0.95))]!,
      runs: measured,
    };
  });
}

function printTable(
  options: Options,
  fixtures: Fixture[],
  results: {
    queryCase: QueryCase;
    perSize: { median: number; p95: number; runs: number }[];
  }[],
): void {
  const sizes = fixtures.map((fixture) => fixture.size.toLocaleString('en-US'));
  const header = [
    'query',
    'kind',
    ...sizes.map((size) => `median ms at ${size}`),
    ...sizes.map((size) => `p95 ms at ${size}`),
    `median ratio ${sizes.at(-1)} / ${sizes[0]}`,
  ];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const { queryCase, perSize } of results) {
    const ratio = perSize.at(-1)!.median / perSize[0]!.median;
    console.log(
      `| ${[
        queryCase.name,
        queryCase.kind,
        ...perSize.map((result) => result.median.toFixed(1)),
        ...perSize.map((result) => result.p95.toFixed(1)),
        ratio.toFixed(2),
      ].join(' | ')} |`,
    );
  }
  console.log(
    `\nDashboard queries: ${options.runs} timed runs each after 5 warm-up runs; analytic queries: ` +
      `${Math.max(3, Math.ceil(options.runs / 10))} timed runs after 1 warm-up run.`,
  );
}

function parseArgs(args: string[]): Options {
  const options: Options = { sizes: [10_000, 1_000_000], runs: 40, keep: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--keep') options.keep = true;
    else if (arg === '--runs') options.runs = positiveInteger(args[++i], '--runs');
    else if (arg === '--sizes') {
      options.sizes = (args[++i] ?? '').split(',').map((size) => positiveInteger(size, '--sizes'));
    } else
      throw new Error(
        `Unknown argument ${arg}. Usage: bench/dashboard.ts [--sizes a,b] [--runs n] [--keep]`,
      );
  }
  return options;
}

function positiveInteger(raw: string | undefined, flag: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`Invalid ${flag} value ${JSON.stringify(raw)}: expected a positive integer.`);
  }
  return value;
}

await main();
