// Apollo Server on a plain node:http server: turns a request into Apollo's HTTPGraphQLRequest
// and writes its response, so GraphQL shares one server and port with the other routes.
import type http from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext, type ContextThunk } from '@apollo/server';
import { findUnstorableString, UNSTORABLE_MESSAGE } from '../graphql/limits.js';
import { badInput } from '../services/errors.js';

/** Largest accepted GraphQL request body. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function handleGraphQLRequest<TContext extends BaseContext>(
  apollo: ApolloServer<TContext>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  context: ContextThunk<TContext>,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }

  const url = new URL(req.url ?? '/', 'http://localhost');
  const body = req.method === 'POST' ? await readJsonBody(req) : undefined;
  const variables = (body as { variables?: unknown } | undefined)?.variables;
  const unstorable = findUnstorableString(variables, 'variables');
  if (unstorable) throw badInput(`Invalid ${unstorable}: ${UNSTORABLE_MESSAGE}`);

  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context,
  });

  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;

  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw badInput(`GraphQL request body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;

  const type = req.headers['content-type'] ?? '';
  if (!type.includes('application/json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw badInput('GraphQL request body is not valid JSON.');
  }
}
