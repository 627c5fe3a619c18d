// API tokens and roles on a server that requires them, over HTTP and websockets.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../src/services/tokens.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let t: TestServer;
let admin: string;
let reader: string;

beforeAll(async () => {
  t = await startTestServer('auth', { authRequired: true });
  admin = (await createApiToken(t.db, { name: 'admin', role: 'ADMIN' })).token;
  reader = (await createApiToken(t.db, { name: 'reader', role: 'READER' })).token;
});
afterAll(async () => {
  await t.close();
});

describe('auth over HTTP', () => {
  it('rejects a request without a token with 401', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ datasets { totalCount } }' }),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as {
      errors: { message: string; extensions: { code: string } }[];
    };
    expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0]?.message).toContain('Authorization: Bearer');
  });

  it('rejects an unknown token', async () => {
    const res = await t.gql('{ datasets { totalCount } }', {}, 'drs_not-a-token');
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets a reader read but not write', async () => {
    const read = await t.gql<{ datasets: { totalCount: number } }>(
      '{ datasets { totalCount } }',
      {},
      reader,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data?.datasets.totalCount).toBe(0);

    const write = await t.gql(
      'mutation { createDataset(input: { name: "x" }) { id } }',
      {},
      reader,
    );
    expect(write.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(write.errors?.[0]?.message).toContain('WRITER');
  });

  it('lets an admin create and revoke tokens', async () => {
    const created = await t.gql<{
      createApiToken: { token: string; apiToken: { id: string; role: string } };
    }>(
      'mutation { createApiToken(name: "ci", role: WRITER) { token apiToken { id role } } }',
      {},
      admin,
    );
    expect(created.errors).toBeUndefined();
    const { token, apiToken } = created.data!.createApiToken;
    expect(apiToken.role).toBe('WRITER');

    const write = await t.gql(
      'mutation { createDataset(input: { name: "by-writer" }) { id } }',
      {},
      token,
    );
    expect(write.errors).toBeUndefined();

    const revoked = await t.gql(
      'mutation ($id: ID!) { revokeApiToken(id: $id) { revokedAt } }',
      { id: apiToken.id },
      admin,
    );
    expect(revoked.errors).toBeUndefined();

    const after = await t.gql('{ datasets { totalCount } }', {}, token);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('requires a token on plain routes', async () => {
    const response = await fetch(`${t.url}/api/datasets/x/examples`, { method: 'POST', body: '' });
    expect(response.status).toBe(401);
  });
});

describe('auth over websockets', () => {
  function subscribeOnce(
    token: string | undefined,
  ): Promise<{ closeCode?: number; reason?: string; data?: unknown }> {
    return new Promise((resolve) => {
      const client = createClient({
        url: t.url.replace('http', 'ws') + '/graphql',
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
        on: {
          closed: (event) => {
            const close = event as { code: number; reason: string };
            resolve({ closeCode: close.code, reason: close.reason });
          },
        },
      });
      const jobId = Buffer.from('Job:00000000-0000-0000-0000-000000000000').toString('base64url');
      client.subscribe(
        {
          query: 'subscription ($id: ID!) { jobUpdated(id: $id) { job { id } } }',
          variables: { id: jobId },
        },
        {
          next: (data) => resolve({ data }),
          error: (error) => resolve({ data: error }),
          complete: () => undefined,
        },
      );
      setTimeout(() => void client.dispose(), 5000);
    });
  }

  it('closes a socket without a token with 4401', async () => {
    const result = await subscribeOnce(undefined);
    expect(result.closeCode).toBe(4401);
    expect(result.reason).toContain('API token');
  });

  it('accepts a socket with a reader token', async () => {
    const result = await subscribeOnce(reader);
    expect(result.closeCode).toBeUndefined();
    expect(result.data).toBeDefined();
  });
});
