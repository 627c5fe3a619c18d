// Bad input found by an adversarial pass over the running server. Each test sends a request that a
// careless or hostile client could send. The response must carry a client error from the closed set
// (never INTERNAL_SERVER_ERROR), and valid work in the same request must still succeed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from './helpers/server.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer('adversarial');
});
afterAll(async () => {
  await t.close();
});

/** Encodes a global id of `type` with database key `key`, as the server does. */
function globalId(type: string, key: string): string {
  return Buffer.from(`${type}:${key}`, 'utf8').toString('base64url');
}

/** Decodes the database key of a global id. */
function keyOf(id: string): string {
  return Buffer.from(id, 'base64url').toString('utf8').split(':')[1]!;
}

async function createDataset(name: string): Promise<string> {
  const res = await t.gql<{ createDataset: { id: string } }>(
    'mutation ($name: String!) { createDataset(input: { name: $name }) { id } }',
    { name },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.createDataset.id;
}

/** Returns the codes of the errors of a response, in order. */
function codes(res: { errors?: { extensions?: { code?: string } }[] }): (string | undefined)[] {
  return (res.errors ?? []).map((error) => error.extensions?.code);
}

// Runs first, while the database has no datasets, so a server without limits returns fast.
describe('query cost', () => {
  it('rejects thousands of aliased lists', async () => {
    const fields = Array.from(
      { length: 1000 },
      (_, i) => `a${i}: datasets(first: 1000) { nodes { examples(first: 1000) { nodes { id } } } }`,
    );
    const res = await t.gql(`{ ${fields.join(' ')} }`);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
  it('rejects a deeply nested query', async () => {
    let selection = 'id';
    for (let depth = 0; depth < 12; depth += 1) {
      selection = `examples(first: 1000) { nodes { dataset { ${selection} } } }`;
    }
    const name = 'nested';
    await createDataset(name);
    const res = await t.gql(`{ dataset(name: "${name}") { ${selection} } }`);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('ids with a non-UUID key', () => {
  // "Dataset:x" is a well-formed global id whose key is not a UUID, and the key reaches a uuid column.
  const lookups: [string, string][] = [
    ['node', `{ node(id: "${globalId('Dataset', 'x')}") { id } }`],
    ['dataset', `{ dataset(id: "${globalId('Dataset', 'x')}") { id } }`],
    ['raterVersion', `{ raterVersion(id: "${globalId('RaterVersion', 'x')}") { id } }`],
    ['job', `{ job(id: "${globalId('Job', '1')}") { id } }`],
    ['curation', `{ curation(id: "${globalId('Curation', 'x')}") { id } }`],
    ['evaluation', `{ evaluation(id: "${globalId('Evaluation', 'x')}") { id } }`],
    ['example', `{ example(id: "${globalId('Example', '99999999999999999999')}") { id } }`],
  ];

  it.each(lookups)('%s returns no INTERNAL_SERVER_ERROR', async (_, query) => {
    const res = await t.gql(query);
    expect(codes(res)).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it('keeps a batched valid lookup', async () => {
    const id = await createDataset('batched-with-bad-id');
    const res = await t.gql<{ a: { name: string } | null }>(
      `{ a: dataset(id: "${id}") { name } b: dataset(id: "${globalId('Dataset', 'x')}") { name } }`,
    );
    expect(res.data?.a).toEqual({ name: 'batched-with-bad-id' });
    expect(codes(res)).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it('scoreAnalytics and rateExamples reject it', async () => {
    const dataset = await createDataset('analytics-bad-id');
    const version = globalId('RaterVersion', 'x');
    const analytics = await t.gql(
      `{ scoreAnalytics(raterVersionId: "${version}", datasetId: "${dataset}") { count } }`,
    );
    expect(codes(analytics)).not.toContain('INTERNAL_SERVER_ERROR');
    const rated = await t.gql(`{ rateExamples(raterVersionId: "${version}", texts: ["a"]) }`);
    expect(codes(rated)).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it('exports return 400 or 404', async () => {
    for (const path of [
      `/api/datasets/${globalId('Dataset', 'x')}/export`,
      `/api/curations/${globalId('Curation', 'x')}/export`,
    ]) {
      const response = await fetch(`${t.url}${path}`);
      expect([400, 404]).toContain(response.status);
    }
  });
});

describe('strings Postgres cannot store', () => {
  it.each([
    ['a NUL in a dataset name', { name: 'a\u0000b' }],
    ['a NUL in a description', { name: 'nul-description', description: 'x\u0000y' }],
    ['a lone surrogate in a dataset name', { name: 'a\ud800b' }],
  ])('rejects %s', async (_, input) => {
    const res = await t.gql(
      'mutation ($input: CreateDatasetInput!) { createDataset(input: $input) { id } }',
      {
        input,
      },
    );
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it('rejects a NUL in a rater name', async () => {
    // Examples in both splits, so the request passes every other check.
    const dataset = await createDataset('nul-rater-name');
    await t.db.prisma.example.createMany({
      data: ['TRAIN', 'TRAIN', 'TRAIN', 'HELDOUT', 'HELDOUT'].map((split, i) => ({
        datasetId: keyOf(dataset),
        text: `example ${i}`,
        split: split as 'TRAIN' | 'HELDOUT',
        byteLength: 9,
        contentHash: String(i),
      })),
    });
    const res = await t.gql(
      'mutation ($input: StartMetaTrainingInput!) { startMetaTraining(input: $input) { id } }',
      { input: { raterName: 'r\u0000', trainingDatasetId: dataset } },
    );
    expect(codes(res)).not.toContain('INTERNAL_SERVER_ERROR');
  });
});

describe('malformed requests', () => {
  it('rejects malformed percent-encoding in paths', async () => {
    for (const path of ['/api/datasets/%ff/export', '/api/datasets/%E0%A4%A/export']) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status).toBe(400);
    }
    const upload = await fetch(`${t.url}/api/datasets/%ff/examples`, {
      method: 'POST',
      body: '{"text":"a"}\n',
    });
    expect(upload.status).toBe(400);
  });

  it('rejects a cursor with an out-of-range score', async () => {
    const dataset = await createDataset('forged-cursor');
    const rater = await t.db.prisma.rater.create({ data: { name: 'forged-cursor' } });
    const version = await t.db.prisma.raterVersion.create({
      data: { raterId: rater.id, version: 1, config: {} },
    });
    const cursor = Buffer.from(JSON.stringify([1e308, -5])).toString('base64url');
    const res = await t.gql(
      `{ scoredExamples(raterVersionId: "${globalId('RaterVersion', version.id)}",
           datasetId: "${dataset}", first: 2, after: "${cursor}") { edges { score } } }`,
    );
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('subscriptions over the websocket', () => {
  /** Sends one subscribe after the connection is acknowledged and returns the first reply. */
  function subscribeOnce(
    query: string,
  ): Promise<{ type: string; payload?: unknown; close?: number }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(
        `${t.url.replace('http', 'ws')}/graphql`,
        'graphql-transport-ws',
      );
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as { type: string; payload?: unknown };
        if (message.type === 'connection_ack') {
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
          return;
        }
        socket.close();
        resolve(message);
      });
      socket.on('close', (code) => resolve({ type: 'close', close: code }));
      socket.on('error', reject);
    });
  }

  it.each([
    ['an unknown field', 'subscription { nope }'],
    ['an argument of the wrong type', 'subscription { jobUpdated(id: 5.5) { job { id } } }'],
  ])('rejects %s', async (_, query) => {
    const reply = await subscribeOnce(query);
    const errors = (Array.isArray(reply.payload) ? reply.payload : []) as {
      extensions?: { code?: string };
    }[];
    expect(reply.type).toBe('error');
    expect(errors.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});
