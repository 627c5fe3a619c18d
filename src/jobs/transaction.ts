// Transactions on a pg pool, for writes that must commit together with a queue operation.
import type pg from 'pg';

/**
 * Runs `fn` inside BEGIN/COMMIT on one pooled connection; rolls back and rethrows when `fn`
 * throws. The connection goes back to the pool either way.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
