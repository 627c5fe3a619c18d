// A real server on a free loopback port, backed by an isolated test database.
import { pino } from 'pino';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { startServer, type RunningServer } from '../../src/server/app.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestServer {
  server: RunningServer;
  db: TestDatabase;
  url: string;
  /** POSTs a GraphQL operation and returns the parsed response body. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface GraphQLResponse<T> {
  data?: T;
  errors?: {
    message: string;
    path?: string[];
    extensions?: { code?: string; [key: string]: unknown };
  }[];
}

export async function startTestServer(
  prefix: string,
  overrides: Partial<AppConfig> & { onQuery?: (sql: string) => void } = {},
): Promise<TestServer> {
  const db = await createTestDatabase(prefix);
  const { onQuery, ...configOverrides } = overrides;
  const serverDb = onQuery ? openDatabase(db.url, { onQuery }) : db;
  const config: AppConfig = {
    ...loadConfig({}),
    port: 0,
    host: '127.0.0.1',
    databaseUrl: db.url,
    logLevel: 'silent',
    inProcessWorker: false,
    ...configOverrides,
  };
  const server = await startServer({
    config,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    db: serverDb,
  });

  return {
    server,
    db,
    url: server.url,
    async gql(query, variables, token) {
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as never;
    },
    async close() {
      await server.close();
      if (serverDb !== db) await serverDb.close();
      await db.drop();
    },
  };
}
