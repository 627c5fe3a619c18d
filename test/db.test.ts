import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrate');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('records applied migrations in Prisma table', async () => {
    const { rows } = await db.pool.query<{ migration_name: string; finished_at: Date | null }>(
      'SELECT migration_name, finished_at FROM "_prisma_migrations"',
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.finished_at !== null)).toBe(true);
  });

  it('applies nothing on second run', async () => {
    const result = await migrate(db.url);
    expect(result.applied).toEqual([]);
  });
});
