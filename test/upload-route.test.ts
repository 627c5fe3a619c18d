// The upload route end to end over HTTP: status codes, error bodies and the import report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

let t: TestServer;
let datasetId: string;

beforeAll(async () => {
  t = await startTestServer('upload_route');
  const res = await t.gql<{ createDataset: { id: string } }>(
    'mutation { createDataset(input: { name: "uploads" }) { id } }',
  );
  datasetId = res.data!.createDataset.id;
});
afterAll(async () => {
  await t.close();
});

interface UploadResponse {
  imported: number;
  rejected: number;
  errors: { line: number; reason: string }[];
  error: { code: string; message: string; line?: number; reason?: string };
}

async function upload(body: string, query = '', id = datasetId) {
  const response = await fetch(`${t.url}/api/datasets/${id}/examples${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body,
  });
  return { status: response.status, body: (await response.json()) as UploadResponse };
}

async function countExamples(): Promise<number> {
  const res = await t.gql<{ dataset: { counts: { total: number } } }>(
    'query ($id: ID!) { dataset(id: $id) { counts { total } } }',
    { id: datasetId },
  );
  return res.data!.dataset.counts.total;
}

describe('POST /api/datasets/{id}/examples', () => {
  it('imports NDJSON and reports the count', async () => {
    const { status, body } = await upload(
      '{"text":"one","id":"a"}\r\n{"text":"two","split":"heldout"}\n',
    );
    expect(status).toBe(200);
    expect(body.imported).toBe(2);
    expect(body.rejected).toBe(0);
    expect(await countExamples()).toBe(2);
  });

  it('rejects the whole upload at the first bad line', async () => {
    const before = await countExamples();
    const { status, body } = await upload(
      '{"text":"fine"}\n{"text": oops}\n{"text":"also fine"}\n',
    );
    expect(status).toBe(400);
    expect(body.error.code).toBe('BAD_USER_INPUT');
    expect(body.error.line).toBe(2);
    expect(body.error.reason).toBe('INVALID_JSON');
    expect(body.error.message).toContain('Line 2');
    expect(await countExamples()).toBe(before);
  });

  it('skips bad lines when asked and lists them', async () => {
    const before = await countExamples();
    const { status, body } = await upload(
      '{"text":"kept"}\n{"nope":1}\n{"text":"kept too"}\n',
      '?onError=skip',
    );
    expect(status).toBe(200);
    expect(body.imported).toBe(2);
    expect(body.rejected).toBe(1);
    expect(body.errors[0]).toMatchObject({ line: 2, reason: 'MISSING_TEXT' });
    expect(await countExamples()).toBe(before + 2);
  });

  it('rejects a duplicate id against the dataset', async () => {
    const { status, body } = await upload('{"text":"again","id":"a"}\n');
    expect(status).toBe(400);
    expect(body.error.reason).toBe('DUPLICATE_ID');
    expect(body.error.line).toBe(1);
  });

  it('imports CSV with a header row', async () => {
    const before = await countExamples();
    const response = await fetch(`${t.url}/api/datasets/${datasetId}/examples?format=csv`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: 'text,label\n"multi\nline",x\nplain,y\n',
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { imported: number }).imported).toBe(2);
    expect(await countExamples()).toBe(before + 2);
  });

  it('accepts an empty file', async () => {
    const { status, body } = await upload('');
    expect(status).toBe(200);
    expect(body.imported).toBe(0);
  });

  it('returns 404 for an unknown dataset', async () => {
    const unknown = Buffer.from('Dataset:00000000-0000-0000-0000-000000000000').toString(
      'base64url',
    );
    const { status, body } = await upload('{"text":"x"}\n', '', unknown);
    expect(status).toBe(404);
    expect(body.error.code).toBe('NOT_FOUND');
  });

  it('returns 400 for an unknown format', async () => {
    const { status, body } = await upload('{"text":"x"}\n', '?format=xml');
    expect(status).toBe(400);
    expect(body.error.code).toBe('BAD_USER_INPUT');
    expect(body.error.message).toContain('xml');
  });

  it('returns 400 for an id that is not a dataset id', async () => {
    const { status, body } = await upload('{"text":"x"}\n', '', 'not-an-id');
    expect(status).toBe(400);
    expect(body.error.code).toBe('BAD_USER_INPUT');
  });
});
