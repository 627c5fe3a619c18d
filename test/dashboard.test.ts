// The dashboard at /: its HTTP route, and the page itself in Debian's Chromium (driven by
// playwright-core) against a real server and database. Scores are inserted directly. The job the
// page follows is written with the job-row functions that workers use, so its updates reach the
// page through the same NOTIFY and jobUpdated path as a real job's.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGlobalId } from '../src/graphql/ids.js';
import { claimJob, endAttempt, lockOwnedJob, updateProgress } from '../src/jobs/job-rows.js';
import type { Attempt } from '../src/jobs/job-rows.js';
import { QUEUES } from '../src/jobs/kinds.js';
import { inTransaction } from '../src/jobs/transaction.js';
import { registerWorker } from '../src/jobs/workers.js';
import { computeScoreSummary } from '../src/services/score-stats.js';
import { createApiToken } from '../src/services/tokens.js';
import {
  insertDataset,
  insertExamples,
  insertRaterVersion,
  insertScores,
  type ExampleInput,
} from './analytics-fixtures.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `Skipping the dashboard browser tests: ${CHROMIUM} is missing. ` +
      'Install Debian\'s package with "apt-get install chromium" (.ci/run does this).',
  );
}

/** How long a check waits for the page to show something. */
const EVENTUALLY = { timeout: 20_000, interval: 100 };

/** Texts with markup, which the page must show as text. */
const TOP_TEXT = '<script>window.injected = "top"</script><b>highest</b> & "quoted"';
const BOTTOM_TEXT = '<img src="missing.png" onerror="window.injected = \'bottom\'">lowest';
const SOURCES = ['ham', 'spam', 'easy_ham', null] as const;
const EXAMPLE_COUNT = 120;

let t: TestServer;

beforeAll(async () => {
  // Stale-worker sweeps would take the test's job away from its registered worker otherwise.
  t = await startTestServer('dashboard', { workerStaleSeconds: 3600 });
});

afterAll(async () => {
  await t?.close();
});

describe('dashboard route', () => {
  test('page and assets have content types', async () => {
    const page = await fetch(`${t.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<script type="module" src="/dashboard/main.js">');

    const assets: [string, string][] = [
      ['/dashboard/main.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/dashboard.css', 'text/css; charset=utf-8'],
      ['/dashboard/vendor/uplot/uPlot.esm.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/vendor/uplot/uPlot.min.css', 'text/css; charset=utf-8'],
      ['/dashboard/vendor/graphql-ws/client.js', 'text/javascript; charset=utf-8'],
    ];
    for (const [url, contentType] of assets) {
      const response = await fetch(`${t.url}${url}`);
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type'), url).toBe(contentType);
      expect(response.headers.get('cache-control'), url).toBe('no-cache');
    }
  });

  test('graphql-ws client chunk is served', async () => {
    const client = await (await fetch(`${t.url}/dashboard/vendor/graphql-ws/client.js`)).text();
    const chunks = [...client.matchAll(/from '\.\/([^']+)'/g)].map((match) => match[1]);
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) {
      const response = await fetch(`${t.url}/dashboard/vendor/graphql-ws/${chunk}`);
      expect(response.status, chunk).toBe(200);
    }
  });

  test('ETag revalidation returns 304', async () => {
    const first = await fetch(`${t.url}/dashboard/main.js`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);

    const second = await fetch(`${t.url}/dashboard/main.js`, {
      headers: { 'if-none-match': etag! },
    });
    expect(second.status).toBe(304);
    expect(await second.text()).toBe('');
  });

  test('HEAD sends headers only', async () => {
    const response = await rawRequest('HEAD', '/');
    expect(response.status).toBe(200);
    expect(Number(response.headers['content-length'])).toBeGreaterThan(100);
    expect(response.body).toBe('');
  });

  test('paths outside the allow-list are 404', async () => {
    const paths = [
      '/dashboard/../package.json',
      '/dashboard/%2e%2e/package.json',
      '/dashboard/..%2f..%2fpackage.json',
      '/dashboard/vendor/uplot/package.json',
      '/dashboard/vendor/uplot/../../../package.json',
      '/dashboard/vendor%2fuplot%2fuPlot.esm.js',
      '/dashboard/missing.js',
      '/dashboard/',
      '/dashboard/%zz',
    ];
    for (const url of paths) {
      const response = await rawRequest('GET', url);
      expect(response.status, url).toBe(404);
      expect(response.body, url).not.toContain('"version"');
    }
  });

  test('POST to the page is 405', async () => {
    const response = await rawRequest('POST', '/');
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
  });
});

describe.skipIf(!hasChromium)('dashboard in Chromium', () => {
  let browser: Browser;
  let scored: ScoredDataset;

  beforeAll(async () => {
    scored = await insertScoredDataset(t, 'mail-chunks', 'mail');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  test('datasets show counts per split', async () => {
    const { page } = await openPage(browser, t.url);
    const row = page.locator(`#datasets tr[data-dataset-id="${scored.datasetGlobalId}"]`);
    await row.waitFor(EVENTUALLY);
    const cells = await row.locator('td').allTextContents();

    expect(await row.locator('th').textContent()).toContain('mail-chunks');
    expect(cells.slice(0, 3)).toEqual(['120', '108', '12']);
    await page.close();
  });

  test('histogram renders the API bin counts', async () => {
    const { page, problems } = await openPage(browser, t.url);
    const figure = page.locator('#scores figure.histogram');
    await figure.waitFor(EVENTUALLY);

    const expected = await t.gql<{ scoreAnalytics: { histogram: { counts: number[] } } }>(
      `query ($rv: ID!, $ds: ID!) {
         scoreAnalytics(raterVersionId: $rv, datasetId: $ds) { histogram(bins: 50) { counts } }
       }`,
      { rv: scored.raterVersionGlobalId, ds: scored.datasetGlobalId },
    );
    const counts = (await figure.getAttribute('data-bin-counts'))!.split(',').map(Number);
    expect(counts).toEqual(expected.data!.scoreAnalytics.histogram.counts);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(EXAMPLE_COUNT);

    const canvas = figure.locator('canvas');
    await expect
      .poll(async () => (await canvas.boundingBox())?.width ?? 0, EVENTUALLY)
      .toBeGreaterThan(300);
    expect((await canvas.boundingBox())!.height).toBeGreaterThan(100);
    // Runs in the page; the test's TypeScript has no DOM types, so the canvas gets a local one.
    const paintedPixels = await canvas.evaluate((element) => {
      const canvasElement = element as unknown as CanvasLike;
      const context = canvasElement.getContext('2d');
      const { data } = context.getImageData(0, 0, canvasElement.width, canvasElement.height);
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
      return painted;
    });
    expect(paintedPixels).toBeGreaterThan(1000);

    await page.screenshot({ path: screenshotPath('scores'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  test('per-source table lists each source', async () => {
    const { page } = await openPage(browser, t.url);
    const rows = page.locator('#scores-by-source tbody tr');
    await rows.first().waitFor(EVENTUALLY);

    const shown = new Map<string, number>();
    for (const row of await rows.all()) {
      const source = (await row.locator('th').textContent())!;
      shown.set(source, Number((await row.locator('td').first().textContent())!));
    }
    expect(shown).toEqual(
      new Map([
        ['ham', 30],
        ['spam', 30],
        ['easy_ham', 30],
        ['(no source)', 30],
      ]),
    );
    await page.close();
  });

  test('top and bottom texts are shown as text', async () => {
    const { page, problems } = await openPage(browser, t.url);
    const top = page.locator('#top-examples li').first();
    const bottom = page.locator('#bottom-examples li').first();
    await top.waitFor(EVENTUALLY);

    expect(await top.locator('.example-text').textContent()).toBe(TOP_TEXT);
    expect(await bottom.locator('.example-text').textContent()).toBe(BOTTOM_TEXT);
    expect(await page.locator('#scores b, #scores script, #scores img').count()).toBe(0);
    const injected = await page.evaluate(() => (globalThis as { injected?: string }).injected);
    expect(injected).toBeUndefined();
    expect(await page.locator('#top-examples li').count()).toBe(10);
    expect(problems).toEqual([]);
    await page.close();
  });

  test('training job is followed to SUCCEEDED', async () => {
    const job = await TrainingJob.start(t, 'live-rater', 'mail-chunks-for-training');
    const { page, problems, framesSent, framesReceived } = await openPage(browser, t.url);
    const row = page.locator(`#jobs tr[data-job-id="${job.jobGlobalId}"]`);
    await expect.poll(() => row.getAttribute('data-status'), EVENTUALLY).toBe('RUNNING');

    const versionRow = page.locator(
      `#raters tr[data-rater-version-id="${job.raterVersionGlobalId}"]`,
    );
    await versionRow.getByRole('button', { name: 'Training curve' }).click();
    await expect
      .poll(() => page.locator('#raters .curve .live').textContent(), EVENTUALLY)
      .toContain('Following the training job live');

    await job.step([1, 2, 3, 4], 0.4, 'Outer step 4 of 10.');
    await expect.poll(() => row.locator('.progress-text').textContent(), EVENTUALLY).toBe('40 %');
    expect(await row.locator('progress').getAttribute('value')).toBe('0.4');
    const curves = page.locator('#raters .curves');
    await expect.poll(() => curves.getAttribute('data-points'), EVENTUALLY).toBe('4');
    // The progress came over the websocket, not only from the list that is re-read every 5 s.
    const received = (operation: string, fragment: string) => () =>
      subscriptionEvents(framesSent, framesReceived, operation).some((event) =>
        event.includes(fragment),
      );
    await expect.poll(received('DashboardJob', '"progress":0.4'), EVENTUALLY).toBe(true);
    await expect.poll(received('DashboardTrainingCurve', '"step":4'), EVENTUALLY).toBe(true);

    await job.step([5, 6, 7, 8, 9, 10], 0.9, 'Outer step 10 of 10.');
    await expect.poll(() => curves.getAttribute('data-points'), EVENTUALLY).toBe('10');
    await job.succeed();

    await expect.poll(() => row.getAttribute('data-status'), EVENTUALLY).toBe('SUCCEEDED');
    expect(await row.locator('.progress-text').textContent()).toBe('100 %');
    await expect.poll(() => versionRow.locator('.status').textContent(), EVENTUALLY).toBe('READY');

    await page.screenshot({ path: screenshotPath('job'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  test('token from the URL is sent on both channels', async () => {
    const secured = await startTestServer('dashboard_auth', {
      authRequired: true,
      workerStaleSeconds: 3600,
    });
    try {
      const { token } = await createApiToken(secured.db, { name: 'dashboard', role: 'READER' });
      await insertScoredDataset(secured, 'secured-chunks', 'secured');
      const job = await TrainingJob.start(secured, 'secured-live', 'secured-training');

      // Without a token every section shows the server's message and code.
      const anonymous = await openPage(browser, secured.url);
      const state = anonymous.page.locator('#datasets .state.error');
      await expect.poll(() => state.textContent(), EVENTUALLY).toContain('requires an API token');
      expect(await state.locator('code').textContent()).toBe('UNAUTHENTICATED');
      await anonymous.page.close();

      const { page, problems, framesSent, framesReceived } = await openPage(
        browser,
        `${secured.url}/#token=${token}`,
      );
      const authorizations: (string | undefined)[] = [];
      page.on('request', (request) => {
        if (request.url().endsWith('/graphql')) {
          authorizations.push(request.headers().authorization);
        }
      });
      const row = page.locator(`#jobs tr[data-job-id="${job.jobGlobalId}"]`);
      await expect.poll(() => row.getAttribute('data-status'), EVENTUALLY).toBe('RUNNING');
      expect(page.url()).toBe(`${secured.url}/`);
      const stored = await page.evaluate(() =>
        (globalThis as unknown as { localStorage: StorageLike }).localStorage.getItem(
          'datarater.token',
        ),
      );
      expect(stored).toBe(token);

      await expect
        .poll(() => framesSent.some((frame) => frame.includes('connection_init')), EVENTUALLY)
        .toBe(true);
      const init = JSON.parse(framesSent.find((frame) => frame.includes('connection_init'))!);
      expect(init.payload).toEqual({ authorization: `Bearer ${token}` });

      await job.step([1, 2], 0.5, 'Outer step 2 of 4.');
      await expect.poll(() => row.locator('.progress-text').textContent(), EVENTUALLY).toBe('50 %');
      const progressEvent = () =>
        subscriptionEvents(framesSent, framesReceived, 'DashboardJob').some((event) =>
          event.includes('"progress":0.5'),
        );
      await expect.poll(progressEvent, EVENTUALLY).toBe(true);

      await page.getByRole('button', { name: 'Refresh all' }).click();
      await expect.poll(() => authorizations.length, EVENTUALLY).toBeGreaterThan(0);
      expect(new Set(authorizations)).toEqual(new Set([`Bearer ${token}`]));
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await secured.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fixtures

interface ScoredDataset {
  datasetGlobalId: string;
  raterVersionGlobalId: string;
}

/**
 * Inserts a dataset of 120 examples (12 HELDOUT, 30 per source), a READY rater version with a
 * short training curve and scores that rise with the example's position, then stores the score
 * summary as a scoring job does. The first example, with BOTTOM_TEXT, scores lowest and the last,
 * with TOP_TEXT, highest.
 */
async function insertScoredDataset(
  server: TestServer,
  datasetName: string,
  raterName: string,
): Promise<ScoredDataset> {
  const { db } = server;
  const datasetId = await insertDataset(db, datasetName);
  const examples: ExampleInput[] = Array.from({ length: EXAMPLE_COUNT }, (_, i) => ({
    text: `message ${i}: ${'prose '.repeat(1 + (i % 7))}`,
    split: i % 10 === 9 ? 'HELDOUT' : 'TRAIN',
    source: SOURCES[i % SOURCES.length],
  }));
  examples[0]!.text = BOTTOM_TEXT;
  examples[EXAMPLE_COUNT - 1]!.text = TOP_TEXT;
  const seqs = await insertExamples(db, datasetId, examples);

  const raterVersionId = await insertRaterVersion(db, raterName);
  const curve = Array.from({ length: 20 }, (_, i) => ({
    step: i + 1,
    outerLoss: 3 / (i + 1) + 1,
    metaGradNorm: 1 / (i + 1),
    ess: 24 + (i % 3),
    scoreAutocorrelation: null,
    skipped: false,
  }));
  await db.pool.query(
    `UPDATE rater_version SET training_curve = $2::jsonb, backend = 'wasm' WHERE id = $1`,
    [raterVersionId, JSON.stringify(curve)],
  );
  await insertScores(
    db,
    raterVersionId,
    datasetId,
    seqs,
    seqs.map((_, i) => ((i / (EXAMPLE_COUNT - 1)) ** 2 - 0.5) * 3),
  );
  await computeScoreSummary(db, raterVersionId, datasetId);

  return {
    datasetGlobalId: toGlobalId('Dataset', datasetId),
    raterVersionGlobalId: toGlobalId('RaterVersion', raterVersionId),
  };
}

/**
 * A meta-training job run by hand: its rows are written as a worker writes them (claim, curve
 * points with progress, success in one transaction), and each write is published as a worker
 * publishes it.
 */
class TrainingJob {
  private constructor(
    private readonly server: TestServer,
    private readonly raterVersionId: string,
    private readonly attempt: Attempt,
  ) {}

  get jobGlobalId(): string {
    return toGlobalId('Job', this.attempt.jobId);
  }

  get raterVersionGlobalId(): string {
    return toGlobalId('RaterVersion', this.raterVersionId);
  }

  /** Queues a job for a new TRAINING rater version and claims it for a registered worker. */
  static async start(
    server: TestServer,
    raterName: string,
    datasetName: string,
  ): Promise<TrainingJob> {
    const { db } = server;
    const jobs = server.server.services.jobs;
    const datasetId = await insertDataset(db, datasetName);
    const raterVersionId = await insertRaterVersion(db, raterName, { status: 'QUEUED' });
    await db.pool.query(
      `UPDATE rater_version SET status = 'TRAINING', training_dataset_id = $2 WHERE id = $1`,
      [raterVersionId, datasetId],
    );

    const jobId = await inTransaction(db.pool, (client) =>
      jobs.enqueue(client, {
        kind: 'META_TRAIN',
        parameters: { raterVersionId },
        subjects: { raterVersionId, datasetId },
        queueName: QUEUES.metaTrainCpu,
        message: 'Queued.',
      }),
    );
    jobs.published([jobId], true);

    const workerId = crypto.randomUUID();
    await registerWorker(db.pool, {
      id: workerId,
      hostname: os.hostname(),
      pid: process.pid,
      backend: 'cpu',
      gpu: false,
      queues: [QUEUES.metaTrainCpu],
      concurrency: 1,
    });
    const claimed = await claimJob(db.pool, jobId, jobId, workerId, 'Training 10 outer steps.');
    if (!claimed) throw new Error(`TrainingJob.start: job ${jobId} could not be claimed`);
    jobs.published([jobId]);
    return new TrainingJob(server, raterVersionId, { jobId, attempt: claimed.attempts });
  }

  /** Appends curve points for `steps` and records progress, as each flush of training does. */
  async step(steps: number[], progress: number, message: string): Promise<void> {
    const { db } = this.server;
    const points = steps.map((step) => ({
      step,
      outerLoss: 4 - Math.log(step),
      metaGradNorm: 1 / step,
      ess: 20 + step,
      scoreAutocorrelation: null,
      skipped: false,
    }));
    await inTransaction(db.pool, async (client) => {
      if (!(await lockOwnedJob(client, this.attempt))) throw new Error('TrainingJob: job lost');
      await client.query(
        `UPDATE rater_version SET training_curve = training_curve || $2::jsonb WHERE id = $1`,
        [this.raterVersionId, JSON.stringify(points)],
      );
    });
    if (!(await updateProgress(db.pool, this.attempt, { progress, message }))) {
      throw new Error('TrainingJob.step: the attempt no longer owns the job');
    }
    this.server.server.services.jobs.published([this.attempt.jobId]);
  }

  /** Marks the version READY and the job SUCCEEDED in one transaction. */
  async succeed(): Promise<void> {
    const { db } = this.server;
    await inTransaction(db.pool, async (client) => {
      if (!(await lockOwnedJob(client, this.attempt))) throw new Error('TrainingJob: job lost');
      await client.query(
        `UPDATE rater_version SET status = 'READY', backend = 'cpu',
                finished_at = now() AT TIME ZONE 'UTC'
          WHERE id = $1`,
        [this.raterVersionId],
      );
      const ended = await endAttempt(client, this.attempt, {
        status: 'SUCCEEDED',
        result: { raterVersionId: this.raterVersionId },
        message: 'Trained 10 outer steps.',
      });
      if (!ended) throw new Error('TrainingJob.succeed: the attempt no longer owns the job');
    });
    this.server.server.services.jobs.published([this.attempt.jobId]);
  }
}

// ---------------------------------------------------------------------------------------------
// Browser and HTTP helpers

/** The parts of the browser's types that the page functions above use. */
interface CanvasLike {
  width: number;
  height: number;
  getContext(type: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}

interface StorageLike {
  getItem(key: string): string | null;
}

interface OpenedPage {
  page: Page;
  /** Uncaught errors, console errors and dialogs (an alert would mean injected script ran). */
  problems: string[];
  framesSent: string[];
  framesReceived: string[];
}

/** Opens `url` in a new page with a fresh storage and records what could go wrong in it. */
async function openPage(browser: Browser, url: string): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('close', () => void context.close());
  const opened: OpenedPage = { page, problems: [], framesSent: [], framesReceived: [] };

  page.on('pageerror', (error) => opened.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') opened.problems.push(`console: ${message.text()}`);
  });
  page.on('dialog', (dialog) => {
    opened.problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('websocket', (socket) => {
    socket.on('framesent', (frame) => opened.framesSent.push(String(frame.payload)));
    socket.on('framereceived', (frame) => opened.framesReceived.push(String(frame.payload)));
  });

  await page.goto(url);
  return opened;
}

/**
 * Returns the `next` messages (as JSON text) of the subscriptions whose operation is `operation`,
 * matched through the ids of the `subscribe` messages the page sent.
 */
function subscriptionEvents(sent: string[], received: string[], operation: string): string[] {
  const ids = new Set<string>();
  for (const frame of sent) {
    const message = JSON.parse(frame) as {
      type: string;
      id?: string;
      payload?: { query?: string };
    };
    if (
      message.type === 'subscribe' &&
      message.payload?.query?.includes(`subscription ${operation}(`)
    ) {
      ids.add(message.id!);
    }
  }
  return received.filter((frame) => {
    const message = JSON.parse(frame) as { type: string; id?: string };
    return message.type === 'next' && message.id !== undefined && ids.has(message.id);
  });
}

function screenshotPath(name: string): string {
  return path.join(os.tmpdir(), `datarater-dashboard-${name}.png`);
}

/** Sends a request with the path exactly as given (fetch would normalize `..`). */
function rawRequest(
  method: string,
  requestPath: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname, port, method, path: requestPath }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}
