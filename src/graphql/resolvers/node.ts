// Relay `node(id:)`, server info and API tokens.
import type { Resolvers } from '../../generated/graphql.js';
import { createApiToken, requireRole, revokeApiToken } from '../../services/tokens.js';
import { decodeGlobalId, fromGlobalId, toGlobalId } from '../ids.js';
import type { GraphQLContext } from '../context.js';

export const nodeResolvers: Resolvers = {
  Query: {
    async node(_parent, { id }, context) {
      const decoded = decodeGlobalId(id);
      if (!decoded) return null;
      const row = await loadNode(decoded.type, decoded.key, context);
      // Node.__resolveType reads __typename to pick the object type of the row.
      return (row ? Object.assign(row, { __typename: decoded.type }) : null) as never;
    },
    serverInfo: (_parent, _args, { services }) => services.info,
    apiTokens(_parent, _args, { db, principal }) {
      requireRole(principal, 'ADMIN');
      return db.prisma.apiToken.findMany({ orderBy: { createdAt: 'asc' } });
    },
  },

  Mutation: {
    createApiToken(_parent, { name, role }, { db, principal }) {
      requireRole(principal, 'ADMIN');
      return createApiToken(db, { name, role });
    },
    revokeApiToken(_parent, { id }, { db, principal }) {
      requireRole(principal, 'ADMIN');
      return revokeApiToken(db, fromGlobalId(id, 'ApiToken'));
    },
  },

  Node: {
    __resolveType: (node) => (node as unknown as { __typename: never }).__typename,
  },

  ApiToken: {
    id: (token) => toGlobalId('ApiToken', token.id),
  },
};

async function loadNode(
  type: string,
  key: string,
  { db, loaders }: GraphQLContext,
): Promise<object | null> {
  switch (type) {
    case 'Dataset':
      return loaders.dataset.load(key);
    case 'Example':
      return Number.isSafeInteger(Number(key)) ? loaders.example.load(Number(key)) : null;
    case 'Rater':
      return loaders.rater.load(key);
    case 'RaterVersion':
      return loaders.raterVersion.load(key);
    case 'Curation':
      return loaders.curation.load(key);
    case 'Evaluation':
      return loaders.evaluation.load(key);
    case 'Job':
      return loaders.job.load(key);
    case 'ApiToken':
      return db.prisma.apiToken.findUnique({ where: { id: key } });
    default:
      return null;
  }
}
