// Applies the checked-in migrations under prisma/migrations at start.
//
// This is a small in-process equivalent of `prisma migrate deploy`: it records applied migrations
// in Prisma's own `_prisma_migrations` table with the same checksums, so `npx prisma migrate
// status` and `migrate deploy` agree with it. It exists because the Prisma CLI takes about 11 s
// per run here (measured with `time npx prisma migrate deploy` on an up-to-date database), which
// every start and every isolated test database would pay.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** Folder of the checked-in migrations. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

/** Same key as Prisma's migrate lock, so this and the Prisma CLI never migrate at once. */
const MIGRATE_LOCK_KEY = 72707369;

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies every migration not yet recorded in `_prisma_migrations`, in name order, each in its
 * own transaction. Throws if an earlier migration is recorded as failed (unfinished and not
 * rolled back), naming it and how to resolve it.
 */
export async function migrate(databaseUrl: string): Promise<MigrationResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
        "id" VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum" VARCHAR(64) NOT NULL,
        "finished_at" TIMESTAMPTZ,
        "migration_name" VARCHAR(255) NOT NULL,
        "logs" TEXT,
        "rolled_back_at" TIMESTAMPTZ,
        "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count" INTEGER NOT NULL DEFAULT 0
      )`);

    const recorded = await client.query<{ migration_name: string; finished_at: Date | null }>(
      'SELECT migration_name, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const failed = recorded.rows.find((row) => row.finished_at === null);
    if (failed) {
      throw new Error(
        `Migration ${failed.migration_name} failed earlier and is not resolved. Fix the database, ` +
          `then run: npx prisma migrate resolve --applied ${failed.migration_name}`,
      );
    }
    const done = new Set(recorded.rows.map((row) => row.migration_name));

    const applied: string[] = [];
    for (const name of await listMigrations()) {
      if (done.has(name)) continue;
      await applyMigration(client, name);
      applied.push(name);
    }
    return { applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

async function listMigrations(): Promise<string[]> {
  const entries = await fs.readdir(MIGRATIONS_DIR, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

async function applyMigration(client: pg.Client, name: string): Promise<void> {
  const sql = await fs.readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8');
  const checksum = crypto.createHash('sha256').update(sql).digest('hex');

  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query(
      `INSERT INTO "_prisma_migrations"
         (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), now(), 1)`,
      [crypto.randomUUID(), checksum, name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`Migration ${name} failed: ${(error as Error).message}`, { cause: error });
  }
}
