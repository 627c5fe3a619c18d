// A minimal router for the plain HTTP routes: method + path pattern → handler.
import type http from 'node:http';
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import { badInput } from '../services/errors.js';
import type { Services } from '../services/index.js';

export interface RouteContext {
  db: Database;
  services: Services;
  logger: Logger;
  /** Named groups of the path pattern, URL-decoded. */
  params: Record<string, string>;
  url: URL;
}

export interface Route {
  method: string;
  /** Path pattern with named groups, for example /^\/api\/datasets\/(?<id>[^/]+)\/examples$/. */
  path: RegExp;
  handle(req: http.IncomingMessage, res: http.ServerResponse, context: RouteContext): Promise<void>;
}

/** Finds the route for a request; returns null when none matches the path. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  pathname: string,
): { route: Route; params: Record<string, string> } | { allowed: string[] } | null {
  const allowed: string[] = [];
  for (const route of routes) {
    const match = route.path.exec(pathname);
    if (!match) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params = Object.fromEntries(
      Object.entries(match.groups ?? {}).map(([key, value]) => [key, decodePathPart(value)]),
    );
    return { route, params };
  }
  return allowed.length > 0 ? { allowed } : null;
}

function decodePathPart(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw badInput(`Invalid percent-encoding in the path segment ${JSON.stringify(value)}.`);
  }
}
