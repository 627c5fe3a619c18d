// The executable schema: schema.graphql plus the resolvers.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { Resolvers } from '../generated/graphql.js';
import { analyticsResolvers } from './resolvers/analytics.js';
import { datasetResolvers } from './resolvers/datasets.js';
import { jobMutationResolvers } from './resolvers/job-mutations.js';
import { jobResolvers } from './resolvers/jobs.js';
import { nodeResolvers } from './resolvers/node.js';
import { raterResolvers } from './resolvers/raters.js';
import { DateTime, JSONScalar } from './resolvers/scalars.js';

export const SCHEMA_PATH = fileURLToPath(new URL('../../schema.graphql', import.meta.url));

export function createSchema(extraResolvers: Resolvers[] = []): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs: fs.readFileSync(SCHEMA_PATH, 'utf8'),
    resolvers: [
      { DateTime, JSON: JSONScalar },
      nodeResolvers,
      datasetResolvers,
      raterResolvers,
      jobResolvers,
      jobMutationResolvers,
      analyticsResolvers,
      ...extraResolvers,
    ] as never,
    inheritResolversFromInterfaces: true,
  });
}
