import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

const queries: string[] = [];
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer('gql_datasets', { onQuery: (sql) => queries.push(sql) });
});
afterAll(async () => {
  await t.close();
});

async function createDataset(name: string): Promise<string> {
  const res = await t.gql<{ createDataset: { id: string } }>(
    'mutation ($input: CreateDatasetInput!) { createDataset(input: $input) { id } }',
    { input: { name } },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.createDataset.id;
}

/** Inserts examples directly, so these tests do not depend on the upload route. */
async function insertExamples(
  datasetId: string,
  rows: { text: string; split?: 'TRAIN' | 'HELDOUT'; source?: string; label?: string }[],
) {
  const key = Buffer.from(datasetId, 'base64url').toString().split(':')[1]!;
  await t.db.prisma.example.createMany({
    data: rows.map((row, i) => ({
      datasetId: key,
      externalId: `e${i}`,
      text: row.text,
      split: row.split ?? 'TRAIN',
      source: row.source ?? null,
      label: row.label ?? null,
      byteLength: Buffer.byteLength(row.text),
      contentHash: String(i),
    })),
  });
}

describe('datasets', () => {
  it('creates, reads, renames and deletes', async () => {
    const id = await createDataset('alpha');

    const read = await t.gql<{ dataset: { name: string; counts: { total: number } } }>(
      'query ($id: ID!) { dataset(id: $id) { name counts { total } } }',
      { id },
    );
    expect(read.data?.dataset).toEqual({ name: 'alpha', counts: { total: 0 } });

    const renamed = await t.gql<{ updateDataset: { name: string } }>(
      'mutation ($input: UpdateDatasetInput!) { updateDataset(input: $input) { name } }',
      { input: { id, name: 'alpha-2' } },
    );
    expect(renamed.data?.updateDataset.name).toBe('alpha-2');

    const node = await t.gql<{ node: { __typename: string; name: string } }>(
      'query ($id: ID!) { node(id: $id) { __typename ... on Dataset { name } } }',
      { id },
    );
    expect(node.data?.node).toEqual({ __typename: 'Dataset', name: 'alpha-2' });

    const deleted = await t.gql('mutation ($id: ID!) { deleteDataset(id: $id) }', { id });
    expect(deleted.data).toEqual({ deleteDataset: id });

    const again = await t.gql('mutation ($id: ID!) { deleteDataset(id: $id) }', { id });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(again.errors?.[0]?.message).toContain('was not found');
  });

  it('rejects a duplicate name with CONFLICT', async () => {
    await createDataset('dup');
    const res = await t.gql('mutation { createDataset(input: { name: "dup" }) { id } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(res.errors?.[0]?.message).toContain('"dup"');
  });

  it('rejects an empty name with BAD_USER_INPUT', async () => {
    const res = await t.gql('mutation { createDataset(input: { name: "  " }) { id } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('rejects an id of another type', async () => {
    const id = Buffer.from('Job:123').toString('base64url');
    const res = await t.gql('query ($id: ID!) { dataset(id: $id) { name } }', { id });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain(id);
  });

  it('reports invalid operations as BAD_USER_INPUT', async () => {
    const res = await t.gql('query { datasets { nope } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('counts examples per split and lists sources', async () => {
    const id = await createDataset('counted');
    await insertExamples(id, [
      { text: 'a', source: 'web' },
      { text: 'b', source: 'web' },
      { text: 'c', source: 'mail', split: 'HELDOUT' },
      { text: 'd' },
    ]);
    const res = await t.gql<{ dataset: { counts: unknown; sources: unknown } }>(
      'query ($id: ID!) { dataset(id: $id) { counts { total train heldout } sources { value count } } }',
      { id },
    );
    expect(res.data?.dataset.counts).toEqual({ total: 4, train: 3, heldout: 1 });
    expect(res.data?.dataset.sources).toEqual([
      { value: 'web', count: 2 },
      { value: 'mail', count: 1 },
      { value: null, count: 1 },
    ]);
  });
});

describe('pagination', () => {
  const examplePage = `query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $filter: ExampleFilter) {
    dataset(id: $id) {
      examples(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        nodes { text }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }`;
  type ExamplePage = {
    dataset: {
      examples: {
        nodes: { text: string }[];
        pageInfo: {
          hasNextPage: boolean;
          hasPreviousPage: boolean;
          startCursor: string | null;
          endCursor: string | null;
        };
      };
    };
  };

  it('walks examples forward and backward without skips or repeats', async () => {
    const id = await createDataset('paged');
    const texts = Array.from({ length: 23 }, (_, i) => `row ${i}`);
    await insertExamples(
      id,
      texts.map((text, i) => ({ text, source: i % 2 === 0 ? 'even' : 'odd' })),
    );

    const forward: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: { data?: ExamplePage } = await t.gql<ExamplePage>(examplePage, {
        id,
        first: 5,
        after,
      });
      const { nodes, pageInfo } = res.data!.dataset.examples;
      forward.push(...nodes.map((node) => node.text));
      expect(pageInfo.hasPreviousPage).toBe(after !== null);
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(forward).toEqual(texts);

    const backward: string[] = [];
    let before: string | null = null;
    for (;;) {
      const res: { data?: ExamplePage } = await t.gql<ExamplePage>(examplePage, {
        id,
        last: 5,
        before,
      });
      const { nodes, pageInfo } = res.data!.dataset.examples;
      backward.unshift(...nodes.map((node) => node.text));
      if (!pageInfo.hasPreviousPage) break;
      before = pageInfo.startCursor;
    }
    expect(backward).toEqual(texts);

    const odd = await t.gql<ExamplePage>(examplePage, {
      id,
      first: 100,
      filter: { source: 'odd' },
    });
    expect(odd.data!.dataset.examples.nodes.map((node) => node.text)).toEqual(
      texts.filter((_, i) => i % 2 === 1),
    );
  });

  it('never skips or repeats datasets whose creation times tie', async () => {
    const createdAt = new Date('2026-01-01T00:00:00.000Z');
    await t.db.prisma.dataset.createMany({
      data: Array.from({ length: 17 }, (_, i) => ({
        name: `tied-${String(i).padStart(2, '0')}`,
        createdAt,
      })),
    });
    const all = await t.db.prisma.dataset.count();

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: {
        data?: {
          datasets: {
            nodes: { name: string }[];
            pageInfo: { hasNextPage: boolean; endCursor: string };
          };
        };
      } = await t.gql(
        'query ($after: String) { datasets(first: 4, after: $after) { nodes { name } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      seen.push(...res.data!.datasets.nodes.map((node) => node.name));
      if (!res.data!.datasets.pageInfo.hasNextPage) break;
      after = res.data!.datasets.pageInfo.endCursor;
    }
    expect(seen.length).toBe(all);
    expect(new Set(seen).size).toBe(all);
  });

  it('rejects a forged cursor', async () => {
    const res = await t.gql('query { datasets(first: 2, after: "bm9wZQ") { nodes { name } } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('rejects first and last together', async () => {
    const res = await t.gql('query { datasets(first: 2, last: 2) { nodes { name } } }');
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('loaders', () => {
  it('loads the datasets of many examples in one query', async () => {
    const ids = [await createDataset('fan-a'), await createDataset('fan-b')];
    for (const id of ids)
      await insertExamples(
        id,
        Array.from({ length: 10 }, (_, i) => ({ text: `x${i}` })),
      );

    queries.length = 0;
    const res = await t.gql<{
      a: { examples: { nodes: { dataset: { name: string } }[] } };
      b: { examples: { nodes: { dataset: { name: string } }[] } };
    }>(
      `query ($a: ID!, $b: ID!) {
        a: dataset(id: $a) { examples(first: 10) { nodes { dataset { name } } } }
        b: dataset(id: $b) { examples(first: 10) { nodes { dataset { name } } } }
      }`,
      { a: ids[0], b: ids[1] },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.a.examples.nodes.every((node) => node.dataset.name === 'fan-a')).toBe(true);

    // The two top-level dataset(id:) fields and the twenty example.dataset fields each batch into
    // one `WHERE id IN (...)` query on "dataset".
    const datasetByIdQueries = queries.filter((sql) =>
      /FROM "public"\."dataset" WHERE "public"\."dataset"\."id" IN/.test(sql),
    );
    expect(datasetByIdQueries).toHaveLength(2);
  });
});

describe('errors', () => {
  it('masks unexpected errors as INTERNAL_SERVER_ERROR', async () => {
    await t.db.pool.query('ALTER TABLE api_token RENAME TO api_token_gone');
    try {
      const res = await t.gql('query { apiTokens { name } }');
      expect(res.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(res.errors?.[0]?.message).not.toContain('api_token');
    } finally {
      await t.db.pool.query('ALTER TABLE api_token_gone RENAME TO api_token');
    }
  });
});

describe('healthz', () => {
  it('reports ok', async () => {
    const response = await fetch(`${t.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });
});
