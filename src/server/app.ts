// The server process: database (embedded or external), migrations, Apollo GraphQL over HTTP and
// websockets, and the plain HTTP routes, all on one port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { AppConfig } from '../config.js';
import { openDatabase, type Database } from '../db/client.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded.js';
import { migrate } from '../db/migrate.js';
import type { JobWorker } from '../jobs/worker.js';
import type { GraphQLContext } from '../graphql/context.js';
import { createErrorFormatter } from '../graphql/errors.js';
import { operationLimitsRule, storableStringsRule } from '../graphql/limits.js';
import { createLoaders } from '../graphql/loaders.js';
import { createSchema } from '../graphql/schema.js';
import { AppError } from '../services/errors.js';
import type { Services } from '../services/index.js';
import { startJobSystem, startJobWorker } from '../services/job-runner.js';
import { RaterCache } from '../services/rate-examples.js';
import { authenticate, type Principal } from '../services/tokens.js';
import { handleGraphQLRequest } from './apollo-http.js';
import { HTTP_STATUS, sendError, sendJson } from './http-utils.js';
import { matchRoute, type Route } from './router.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { curationExportRoute, datasetExportRoute } from './routes/export.js';
import { uploadRoute } from './routes/upload.js';

export const VERSION = '0.1.0';

/** Milliseconds of socket inactivity after which an HTTP request is aborted. */
const IDLE_SOCKET_TIMEOUT_MS = 60_000;

export interface RunningServer {
  /** Base URL, for example http://127.0.0.1:4000. */
  url: string;
  db: Database;
  services: Services;
  /** The in-process job worker, or null when IN_PROCESS_WORKER is false. */
  worker: JobWorker | null;
  /** Stops accepting requests, drains open ones, stops the worker, closes the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: AppConfig;
  logger: Logger;
  /** An open database to use instead of the configured one (tests); it is not closed on close(). */
  db?: Database;
  /** Extra plain routes, matched after the built-in ones. */
  routes?: Route[];
}

/** Opens the configured database, embedded or external, and applies pending migrations. */
export async function openConfiguredDatabase(
  config: AppConfig,
  logger: Logger,
): Promise<{ db: Database; embedded: EmbeddedPostgres | null }> {
  let embedded: EmbeddedPostgres | null = null;
  let url = config.databaseUrl;
  if (url) {
    logger.info({ database: redactUrl(url) }, 'using external Postgres from DATABASE_URL');
  } else {
    embedded = await startEmbeddedPostgres(config.dataDir);
    url = embedded.url;
    logger.info(
      { dataDir: config.dataDir, url },
      'using embedded Postgres (PGlite); set DATABASE_URL to use a server',
    );
  }

  const { applied } = await migrate(url);
  if (applied.length > 0) logger.info({ applied }, 'applied migrations');
  return { db: openDatabase(url, { embedded: embedded !== null }), embedded };
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const opened = options.db
    ? { db: options.db, embedded: null }
    : await openConfiguredDatabase(config, logger);
  const { db } = opened;

  const jobs = await startJobSystem(db, config, logger);
  const worker = config.inProcessWorker ? await startJobWorker(jobs, config, logger) : null;
  const services: Services = {
    info: {
      version: VERSION,
      database: db.embedded ? 'embedded' : 'external',
      backend: worker?.info.backend ?? null,
    },
    maxUploadLineBytes: config.maxUploadLineBytes,
    authRequired: config.authRequired,
    jobs,
    raterCache: new RaterCache(),
  };
  const schema = createSchema();
  const httpServer = http.createServer();
  // A client that sends or reads nothing for this long loses its socket, so a stalled upload or
  // export cannot hold a database connection (and the upload's dataset lock) indefinitely.
  // Websocket connections are exempt: the ws library clears the timeout on upgrade.
  httpServer.timeout = IDLE_SOCKET_TIMEOUT_MS;
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const wsCleanup = startSubscriptions(wsServer, schema, db, services, logger);

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError: createErrorFormatter(logger),
    includeStacktraceInErrorResponses: false,
    // The CLI owns SIGINT/SIGTERM: Apollo's own handlers would re-raise the signal after stopping
    // and cut the worker's checkpoint-and-requeue shutdown short.
    stopOnTerminationSignals: false,
    validationRules: [operationLimitsRule, storableStringsRule],
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  const routes: Route[] = [
    uploadRoute,
    datasetExportRoute,
    curationExportRoute,
    ...dashboardRoutes,
    ...(options.routes ?? []),
  ];
  httpServer.on('request', (req, res) => {
    void handleRequest(req, res).catch((error: unknown) => {
      if (!(error instanceof AppError))
        logger.error({ err: error, url: req.url }, 'request failed');
      sendError(res, error);
    });
  });

  async function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') {
      await db.pool.query('SELECT 1');
      sendJson(res, 200, { status: 'ok', version: VERSION, database: services.info.database });
      return;
    }
    if (url.pathname === '/graphql') {
      // Authentication and body checks run before Apollo, whose context errors would become 500s;
      // their errors still get the GraphQL response shape.
      try {
        const principal = await authenticate(db, req.headers.authorization, config.authRequired);
        await handleGraphQLRequest(apollo, req, res, async () => ({
          db,
          services,
          loaders: createLoaders(db),
          principal,
          logger,
        }));
      } catch (error) {
        if (!(error instanceof AppError) || res.headersSent) throw error;
        sendJson(res, HTTP_STATUS[error.code], {
          errors: [{ message: error.message, extensions: { ...error.details, code: error.code } }],
        });
      }
      return;
    }

    const match = matchRoute(routes, req.method ?? 'GET', url.pathname);
    if (match && 'route' in match) {
      await match.route.handle(req, res, { db, services, logger, params: match.params, url });
      return;
    }
    if (match) {
      res.setHeader('allow', match.allowed.join(', '));
      sendJson(res, 405, {
        error: { code: 'BAD_USER_INPUT', message: `Method ${req.method} is not allowed here.` },
      });
      return;
    }
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `No route for ${url.pathname}.` } });
  }

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const address = httpServer.address() as AddressInfo;
  const url = `http://${config.host}:${address.port}`;
  logger.info({ url: `${url}/graphql` }, 'server listening');

  return {
    url,
    db,
    services,
    worker,
    async close() {
      await apollo.stop();
      services.raterCache.clear();
      await worker?.stop();
      await jobs.stop();
      if (!options.db) {
        await db.close();
        await opened.embedded?.stop();
      }
    },
  };
}

function startSubscriptions(
  wsServer: WebSocketServer,
  schema: GraphQLSchema,
  db: Database,
  services: Services,
  logger: Logger,
) {
  // The principal of each socket, resolved once when the client sends connection_init.
  const principals = new WeakMap<object, Principal>();
  const formatError = createErrorFormatter(logger);

  return useServer<Record<string, unknown> | undefined>(
    {
      schema,
      // Validation errors are the client's fault: code them BAD_USER_INPUT, as Apollo does over HTTP.
      validate: (schemaToCheck, document, rules = specifiedRules) =>
        validate(schemaToCheck, document, [...rules, operationLimitsRule, storableStringsRule]).map(
          (error) =>
            new GraphQLError(error.message, {
              nodes: error.nodes,
              extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
            }),
        ),
      async onConnect(ctx) {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        try {
          const principal = await authenticate(
            db,
            typeof header === 'string' ? header : undefined,
            services.authRequired,
          );
          principals.set(ctx.extra.socket, principal);
          return true;
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          // 4401 is graphql-ws's "Unauthorized" close code; a close reason is at most 123 bytes.
          ctx.extra.socket.close(4401, truncateUtf8(error.message, 123));
          return false;
        }
      },
      context(ctx): GraphQLContext {
        const principal = principals.get(ctx.extra.socket);
        if (!principal)
          throw new AppError('UNAUTHENTICATED', 'The websocket was not authenticated.');
        return { db, services, loaders: createLoaders(db), principal, logger };
      },
      // Subscription errors get the same codes and masking as errors over HTTP.
      onNext(_ctx, _id, _payload, _args, result) {
        if (!result.errors) return;
        return {
          ...result,
          errors: result.errors.map((error) => formatError(error.toJSON(), error)),
        };
      },
      onError(_ctx, _id, _payload, errors) {
        return errors.map((error) => formatError(error.toJSON(), error));
      },
    },
    wsServer,
  );
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  return bytes
    .subarray(0, maxBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
