// Datasets and examples.
import type { Resolvers } from '../../generated/graphql.js';
import * as datasets from '../../services/datasets.js';
import { notFound } from '../../services/errors.js';
import { importCorpus } from '../../services/corpus-import.js';
import { requireRole } from '../../services/tokens.js';
import { toConnection } from '../connection.js';
import { fromGlobalId, toGlobalId } from '../ids.js';

export const datasetResolvers: Resolvers = {
  Query: {
    async datasets(_parent, args, { db }) {
      const page = await datasets.listDatasets(db, args);
      const connection = toConnection(page, datasets.datasetCursor);
      return { ...connection, totalCount: await db.prisma.dataset.count() };
    },
    async dataset(_parent, { id, name }, { db, loaders }) {
      if (id != null) return loaders.dataset.load(fromGlobalId(id, 'Dataset'));
      if (name != null) return db.prisma.dataset.findUnique({ where: { name } });
      return null;
    },
    async example(_parent, { id }, { loaders }) {
      return loaders.example.load(Number(fromGlobalId(id, 'Example')));
    },
  },

  Mutation: {
    async createDataset(_parent, { input }, { db, principal }) {
      requireRole(principal, 'WRITER');
      return datasets.createDataset(db, input);
    },
    async updateDataset(_parent, { input }, { db, principal }) {
      requireRole(principal, 'WRITER');
      return datasets.updateDataset(db, fromGlobalId(input.id, 'Dataset', 'input.id'), input);
    },
    async deleteDataset(_parent, { id }, { db, principal }) {
      requireRole(principal, 'WRITER');
      await datasets.deleteDataset(db, fromGlobalId(id, 'Dataset'));
      return id;
    },
    async importCorpus(_parent, { input }, { db, principal }) {
      requireRole(principal, 'WRITER');
      const result = await importCorpus(db, {
        corpus: input.corpus,
        datasetName: input.datasetName,
        shape: input.shape ?? 'CHUNKS',
        chunkBytes: input.chunkBytes ?? 256,
        heldoutFraction: input.heldoutFraction ?? 0.1,
        seed: input.seed ?? 1,
        maxMessages: input.maxMessages ?? undefined,
      });
      const dataset = await db.prisma.dataset.findUnique({ where: { id: result.datasetId } });
      if (!dataset) throw notFound(`Dataset ${result.datasetId} disappeared during the import.`);
      return { dataset, imported: result.imported };
    },
  },

  Dataset: {
    id: (dataset) => toGlobalId('Dataset', dataset.id),
    counts: (dataset, _args, { loaders }) => loaders.datasetCounts.load(dataset.id),
    sources: (dataset, _args, { db }) => datasets.countGroups(db, dataset.id, 'source'),
    labels: (dataset, _args, { db }) => datasets.countGroups(db, dataset.id, 'label'),
    async examples(dataset, { filter, ...args }, { db }) {
      const page = await datasets.listExamples(db, dataset.id, filter ?? {}, args);
      return toConnection(page, (example) => [Number(example.seq)]);
    },
    curation: (dataset, _args, { loaders }) => loaders.curationByCuratedDataset.load(dataset.id),
    scoreSummaries: (dataset, _args, { db }) =>
      db.prisma.scoreSummary.findMany({
        where: { datasetId: dataset.id },
        orderBy: { createdAt: 'asc' },
      }),
  },

  Example: {
    id: (example) => toGlobalId('Example', example.seq),
    async dataset(example, _args, { loaders }) {
      const dataset = await loaders.dataset.load(example.datasetId);
      if (!dataset)
        throw notFound(`Dataset ${example.datasetId} of example ${example.seq} was not found.`);
      return dataset;
    },
    meta: (example) => example.meta,
    score: (example, { raterVersionId }, { loaders }) =>
      loaders.score.load(
        `${fromGlobalId(raterVersionId, 'RaterVersion', 'raterVersionId')}:${example.seq}`,
      ),
  },
};
