// Embedded Postgres: PGlite (Postgres compiled to wasm) served on a loopback port through
// pglite-socket, so Prisma, pg and pg-boss connect to it as to any Postgres server.
import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** Connection URL of the loopback socket, for example postgres://postgres@127.0.0.1:54321/postgres. */
  url: string;
  /** Stops the socket server and closes the database, flushing it to disk. */
  stop(): Promise<void>;
}

/**
 * Starts PGlite with its data under `dataDir/pglite` (created if missing, kept between runs) and
 * serves it on a free loopback port. PGlite runs one query at a time, so connections share it
 * through the socket server's queue; `maxConnections` bounds the open client connections.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  options: { maxConnections?: number } = {},
): Promise<EmbeddedPostgres> {
  const dbDir = path.join(dataDir, 'pglite');
  await fs.mkdir(dbDir, { recursive: true });

  const db = await PGlite.create(dbDir);
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: options.maxConnections ?? 64,
  });
  await server.start();

  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
