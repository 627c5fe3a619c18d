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
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_SERVER_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
