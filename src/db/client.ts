// Database handles: a Prisma client for ordinary reads and writes, and a pg pool for what
// Prisma does not do well (COPY, analytic SQL, LISTEN/NOTIFY). Both share one pg pool.
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type { PrismaClient };

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  /** Connection URL this database was opened with. */
  url: string;
  /** Whether this is the embedded PGlite server (no COPY FROM STDIN through its socket). */
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  embedded?: boolean;
  poolSize?: number;
  /** Called with the SQL of every Prisma query, for tests that count queries. */
  onQuery?: (sql: string) => void;
}

// Postgres int8 (BIGINT, used for example sequence numbers and counts) as a JS number. Values
// stay below 2^53 for any dataset this server can hold.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Opens a Prisma client and a pg pool on `url`. */
export function openDatabase(url: string, options: OpenOptions = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client that loses its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);

  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    log: options.onQuery ? [{ emit: 'event', level: 'query' }] : [],
  });
  if (options.onQuery) {
    const onQuery = options.onQuery;
    (prisma as unknown as { $on(event: 'query', cb: (e: { query: string }) => void): void }).$on(
      'query',
      (event) => onQuery(event.query),
    );
  }

  return {
    prisma,
    pool,
    url,
    embedded: options.embedded ?? false,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
