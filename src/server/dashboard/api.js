// The GraphQL client of the dashboard: queries over POST /graphql, subscriptions over the
// graphql-ws protocol on the websocket at /graphql, both with the stored API token.
import { createClient } from './vendor/graphql-ws/client.js';

const TOKEN_KEY = 'datarater.token';

/** A failed request: the server's message and `extensions.code`, or NETWORK_ERROR. */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/**
 * Returns the API token: taken from `#token=...` in the URL (then stored, and removed from the
 * address bar so it does not stay in view or in bookmarks), else the stored one, else null.
 */
export function loadToken() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    saveToken(fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return storedToken();
}

/** Stores the token (an empty one removes it) and reconnects the websocket with it. */
export function saveToken(token) {
  const trimmed = token.trim();
  if (trimmed) localStorage.setItem(TOKEN_KEY, trimmed);
  else localStorage.removeItem(TOKEN_KEY);
  resetSocket();
}

/** Returns the stored token, or null. */
export function storedToken() {
  return localStorage.getItem(TOKEN_KEY);
}

function authorization() {
  const token = storedToken();
  return token ? `Bearer ${token}` : null;
}

/** Runs a query and returns its data. Throws an ApiError with the first error's message and code. */
export async function query(document, variables = {}) {
  const headers = { 'content-type': 'application/json' };
  const auth = authorization();
  if (auth) headers.authorization = auth;

  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: document, variables }),
    });
  } catch (error) {
    throw new ApiError(`The server cannot be reached (${error.message}).`, 'NETWORK_ERROR');
  }

  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(
      `The server sent HTTP ${response.status} without a GraphQL response.`,
      'NETWORK_ERROR',
    );
  }
  const first = body.errors?.[0];
  if (first) {
    throw new ApiError(first.message, first.extensions?.code ?? `HTTP_${response.status}`);
  }
  return body.data;
}

// ----------------------------------------------------------------------------------------------
// Subscriptions

let socket = null;
const socketListeners = new Set();
let socketState = { state: 'idle', detail: null };

/**
 * Calls `listener` with the websocket state now and at each change: `idle` (no subscription
 * open), `connecting`, `connected`, or `closed` with the close reason in `detail`.
 */
export function onSocketState(listener) {
  socketListeners.add(listener);
  listener(socketState);
  return () => socketListeners.delete(listener);
}

function setSocketState(state, detail = null) {
  socketState = { state, detail };
  for (const listener of socketListeners) listener(socketState);
}

function client() {
  socket ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: () => {
      const auth = authorization();
      return auth ? { authorization: auth } : {};
    },
    // Retries a dropped connection for as long as the page is open, waiting 1, 2, 4, ... s, at
    // most 30 s, between tries. graphql-ws never retries a close whose code marks the request
    // itself as bad (close codes 4400, 4401, 4500, ...), such as a rejected token.
    retryAttempts: Infinity,
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(30, 2 ** retries) * 1000)),
    on: {
      connecting: () => setSocketState('connecting'),
      connected: () => setSocketState('connected'),
      // graphql-ws closes with code 1000 once no subscription is left, which is no failure.
      closed: (event) =>
        event?.code === 1000
          ? setSocketState('idle')
          : setSocketState('closed', closeReason(event)),
    },
  });
  return socket;
}

function resetSocket() {
  const old = socket;
  socket = null;
  old?.dispose();
  setSocketState('idle');
}

function closeReason(event) {
  if (event && typeof event === 'object' && 'code' in event) {
    return event.reason ? `${event.reason} (close code ${event.code})` : `close code ${event.code}`;
  }
  return event instanceof Error ? event.message : null;
}

/**
 * Subscribes to `document`. Calls `onData(data)` per event, `onError(ApiError)` when the server
 * rejects the operation, and `onComplete()` when the stream ends. Returns the function that
 * unsubscribes. The websocket reconnects on its own after a drop, and the subscription restarts.
 */
export function subscribe(document, variables, { onData, onError, onComplete }) {
  return client().subscribe(
    { query: document, variables },
    {
      next: (result) => {
        const first = result.errors?.[0];
        if (first) onError?.(new ApiError(first.message, first.extensions?.code ?? 'ERROR'));
        else onData(result.data);
      },
      error: (error) => onError?.(toApiError(error)),
      complete: () => onComplete?.(),
    },
  );
}

/** Converts what graphql-ws reports (GraphQL errors, a CloseEvent or an Error) to an ApiError. */
function toApiError(error) {
  if (Array.isArray(error) && error[0]) {
    return new ApiError(error[0].message, error[0].extensions?.code ?? 'ERROR');
  }
  const reason = closeReason(error);
  return new ApiError(`The websocket closed: ${reason ?? 'unknown reason'}.`, 'NETWORK_ERROR');
}
