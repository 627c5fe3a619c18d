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
  serializeProtocolBatches(server, db);
  await server.start();

  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** The part of pglite-socket 0.2's internal query queue that the batch lock wraps. */
interface QueryQueue {
  /** Connection whose message ran last; the queue serves only it while a transaction is open. */
  lastHandlerId: number | null;
  enqueue(
    handlerId: number,
    message: Uint8Array,
    onData: (data: Uint8Array) => void,
  ): Promise<number>;
  clearQueueForHandler(handlerId: number): void;
}

/** Seconds a connection may hold the batch lock between two of its messages. */
const BATCH_LOCK_TIMEOUT_MS = 10_000;

/**
 * Keeps each connection's extended-protocol batch (Parse, Bind, Describe, Execute ... up to Sync)
 * together in PGlite's single session. pglite-socket 0.2.17 queues messages one by one and
 * interleaves connections outside transactions, so when a batch arrives in two TCP segments,
 * another connection's Parse can replace the unnamed statement before this one's Bind ("bind
 * message supplies 2 parameters, but prepared statement "" requires 3", reproduced with two raw
 * sockets). The lock admits other connections' messages only once the holder sends Sync, a
 * simple Query, Terminate or its startup message, or disconnects. The connection that owns an
 * open transaction always passes, because the queue runs nothing else until that transaction
 * ends.
 */
function serializeProtocolBatches(server: PGLiteSocketServer, db: PGlite): void {
  const queue = (server as unknown as { queryQueue?: QueryQueue }).queryQueue;
  if (!queue || typeof queue.enqueue !== 'function') {
    throw new Error(
      'startEmbeddedPostgres: pglite-socket changed its internals (no queryQueue.enqueue); ' +
        'check the protocol batch lock against the installed version.',
    );
  }

  const enqueue = queue.enqueue.bind(queue);
  const clear = queue.clearQueueForHandler.bind(queue);
  let holder: number | null = null;
  let holderTimer: NodeJS.Timeout | null = null;
  let waiters: (() => void)[] = [];

  const release = () => {
    holder = null;
    if (holderTimer) clearTimeout(holderTimer);
    holderTimer = null;
    const ready = waiters;
    waiters = [];
    for (const wake of ready) wake();
  };

  queue.enqueue = async (handlerId, message, onData) => {
    const ownsTransaction = () => db.isInTransaction() && queue.lastHandlerId === handlerId;
    while (holder !== null && holder !== handlerId && !ownsTransaction()) {
      await new Promise<void>((resolve) => waiters.push(resolve));
    }

    if (endsBatch(message)) {
      if (holder === handlerId) release();
    } else if (holder === null) {
      holder = handlerId;
      holderTimer = setTimeout(release, BATCH_LOCK_TIMEOUT_MS);
      holderTimer.unref();
    }
    return enqueue(handlerId, message, onData);
  };

  queue.clearQueueForHandler = (handlerId) => {
    if (holder === handlerId) release();
    clear(handlerId);
  };
}

/** Returns whether a frontend message ends a batch: Sync, Query, Terminate or a startup message. */
function endsBatch(message: Uint8Array): boolean {
  const type = message[0];
  if (type === 0x53 || type === 0x51 || type === 0x58) return true; // 'S', 'Q', 'X'
  // A startup message has no type byte: a length, then protocol version 3.0 (196608).
  return (
    message.length >= 8 &&
    new DataView(message.buffer, message.byteOffset, message.byteLength).getInt32(4) === 196608
  );
}
