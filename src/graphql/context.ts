// Per-request context of resolvers.
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import type { Principal } from '../services/tokens.js';
import type { Services } from '../services/index.js';
import type { Loaders } from './loaders.js';

export interface GraphQLContext {
  db: Database;
  services: Services;
  loaders: Loaders;
  principal: Principal;
  logger: Logger;
}
