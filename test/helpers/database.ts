// Isolated test databases on the real Postgres: each test file creates its own database,
// migrates it and drops it afterwards, so files never see each other's rows.
import crypto from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { openDatabase, type Database } from '../../src/db/client.js';

/** Server that tests run against; override with TEST_POSTGRES_URL. */
export const TEST_SERVER_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase extends Database {
  name: string;
  /** Closes the connections and drops the database. */
  drop(): Promise<void>;
}

/** Creates, migrates and opens a fresh database named `dr_test_<prefix>_<random>`. */
export async function createTestDatabase(prefix = 'db'): Promise<TestDatabase> {
  const name = `dr_test_${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${crypto.randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);

  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${name}`;
  await migrate(url.toString());

  const db = openDatabase(url.toString());
  return {
    ...db,
    name,
    async drop() {
      await db.close();
      // DROP DATABASE waits until every backend of the server acknowledges it, so one stuck
      // session elsewhere would hang the suite. A database left behind is only clutter.
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, 20_000).catch(
        (error: unknown) => {
          console.warn(`Could not drop test database ${name}: ${(error as Error).message}`);
        },
      );
    },
  };
}

async function adminQuery(sql: string, timeoutMs = 0): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_SERVER_URL, statement_timeout: timeoutMs });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
