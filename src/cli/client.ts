// The CLI's connection to a DataRater server: GraphQL over HTTP, jobUpdated over graphql-ws, and
// the fallback that starts an embedded server in this process when none responds.
import { createClient, type Client } from 'graphql-ws';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../config.js';
import { startServer, type RunningServer } from '../server/app.js';

export const DEFAULT_URL = 'http://127.0.0.1:4000';

export class GraphQLRequestError extends Error {
  override readonly name = 'GraphQLRequestError';

  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface ServerConnection {
  url: string;
  /** Set when this process started the server; it runs a worker in-process. */
  embedded: RunningServer | null;
  token: string | undefined;
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  subscribe<T>(
    query: string,
    variables: Record<string, unknown>,
    onNext: (data: T) => void,
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to the server at `url`. When nothing responds there and the URL was not given
 * explicitly, starts a server in this process (embedded database under DATA_DIR, or
 * DATABASE_URL) with an in-process worker, on a free port, for the command's lifetime.
 */
export async function connect(options: {
  url: string | undefined;
  token: string | undefined;
  logger: Logger;
}): Promise<ServerConnection> {
  const explicit = options.url ?? (process.env.DATARATER_URL || undefined);
  const url = (explicit ?? DEFAULT_URL).replace(/\/+$/, '');
  if (await isServerUp(url)) return connection(url, null, options.token);

  if (explicit !== undefined) {
    throw new Error(
      `No DataRater server responds at ${url}. Start one with \`npm start\`, or omit --url to ` +
        'run the command against a server started in this process.',
    );
  }
  // NOTE: nothing stops two processes from opening the same DATA_DIR. A server already running on
  // another port with the embedded database needs --url, or this opens its data a second time.
  options.logger.info(
    { tried: url },
    'no server answered; starting one in this process (embedded database, in-process worker)',
  );
  const config = { ...loadConfig(), port: 0, host: '127.0.0.1', inProcessWorker: true };
  const server = await startServer({ config, logger: options.logger });
  return connection(server.url, server, options.token);
}

async function isServerUp(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

function connection(
  url: string,
  embedded: RunningServer | null,
  token: string | undefined,
): ServerConnection {
  let ws: Client | null = null;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

  return {
    url,
    embedded,
    token,
    async request<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as {
        data?: T;
        errors?: { message: string; extensions?: { code?: string } }[];
      };
      const error = body.errors?.[0];
      if (error) throw new GraphQLRequestError(error.message, error.extensions?.code);
      if (!body.data)
        throw new Error(`The server at ${url} returned no data (${response.status}).`);
      return body.data;
    },
    subscribe<T>(
      query: string,
      variables: Record<string, unknown>,
      onNext: (data: T) => void,
    ): Promise<void> {
      ws ??= createClient({
        url: `${url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: headers,
        retryAttempts: 5,
      });
      const client = ws;
      return new Promise<void>((resolve, reject) => {
        client.subscribe<T>(
          { query, variables },
          {
            next: (message) => {
              const error = message.errors?.[0];
              if (error) {
                const code = (error.extensions as { code?: string } | undefined)?.code;
                reject(new GraphQLRequestError(error.message, code));
              } else if (message.data) onNext(message.data);
            },
            error: (error: unknown) =>
              reject(error instanceof Error ? error : new Error(describeSocketError(error))),
            complete: resolve,
          },
        );
      });
    },
    async close() {
      await ws?.dispose();
      await embedded?.close();
    },
  };
}

function describeSocketError(error: unknown): string {
  if (Array.isArray(error))
    return (error as { message: string }[]).map((e) => e.message).join('; ');
  if (error && typeof error === 'object' && 'reason' in error) {
    return `websocket closed: ${String((error as { reason: unknown }).reason) || 'no reason'}`;
  }
  return String(error);
}
