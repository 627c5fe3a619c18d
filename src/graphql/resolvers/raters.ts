// Raters, rater versions, score summaries, curations and evaluations (reads).
import type { Resolvers, TrainingPoint } from '../../generated/graphql.js';
import { notFound } from '../../services/errors.js';
import { fromGlobalId, toGlobalId } from '../ids.js';

export const raterResolvers: Resolvers = {
  Query: {
    raters: (_parent, _args, { db }) => db.prisma.rater.findMany({ orderBy: { name: 'asc' } }),
    async rater(_parent, { id, name }, { db, loaders }) {
      if (id != null) return loaders.rater.load(fromGlobalId(id, 'Rater'));
      if (name != null) return db.prisma.rater.findUnique({ where: { name } });
      return null;
    },
    raterVersion: (_parent, { id }, { loaders }) =>
      loaders.raterVersion.load(fromGlobalId(id, 'RaterVersion')),
    scoreSummary: (_parent, args, { db }) =>
      db.prisma.scoreSummary.findUnique({
        where: {
          raterVersionId_datasetId: {
            raterVersionId: fromGlobalId(args.raterVersionId, 'RaterVersion', 'raterVersionId'),
            datasetId: fromGlobalId(args.datasetId, 'Dataset', 'datasetId'),
          },
        },
      }),
    curation: (_parent, { id }, { loaders }) => loaders.curation.load(fromGlobalId(id, 'Curation')),
    evaluation: (_parent, { id }, { loaders }) =>
      loaders.evaluation.load(fromGlobalId(id, 'Evaluation')),
  },

  Rater: {
    id: (rater) => toGlobalId('Rater', rater.id),
    versions: (rater, _args, { loaders }) => loaders.raterVersionsByRater.load(rater.id),
    async latestVersion(rater, _args, { loaders }) {
      const versions = await loaders.raterVersionsByRater.load(rater.id);
      return versions.at(-1) ?? null;
    },
  },

  RaterVersion: {
    id: (version) => toGlobalId('RaterVersion', version.id),
    async rater(version, _args, { loaders }) {
      const rater = await loaders.rater.load(version.raterId);
      if (!rater)
        throw notFound(`Rater ${version.raterId} of version ${version.id} was not found.`);
      return rater;
    },
    config: (version) => version.config,
    trainingDataset: (version, _args, { loaders }) =>
      version.trainingDatasetId ? loaders.dataset.load(version.trainingDatasetId) : null,
    heldoutDataset: (version, _args, { loaders }) =>
      version.heldoutDatasetId ? loaders.dataset.load(version.heldoutDatasetId) : null,
    parentVersion: (version, _args, { loaders }) =>
      version.parentVersionId ? loaders.raterVersion.load(version.parentVersionId) : null,
    metrics: (version) => version.metrics,
    trainingCurve: (version) =>
      (Array.isArray(version.trainingCurve) ? version.trainingCurve : []) as TrainingPoint[],
    job: (version, _args, { db }) =>
      db.prisma.job.findFirst({
        where: { kind: 'META_TRAIN', subjects: { path: ['raterVersionId'], equals: version.id } },
        orderBy: { createdAt: 'desc' },
      }),
  },

  ScoreSummary: {
    async raterVersion(summary, _args, { loaders }) {
      const version = await loaders.raterVersion.load(summary.raterVersionId);
      if (!version) throw notFound(`Rater version ${summary.raterVersionId} was not found.`);
      return version;
    },
    async dataset(summary, _args, { loaders }) {
      const dataset = await loaders.dataset.load(summary.datasetId);
      if (!dataset) throw notFound(`Dataset ${summary.datasetId} was not found.`);
      return dataset;
    },
    histogram: (summary) => summary.histogram as { edges: number[]; counts: number[] },
    quantiles: (summary) =>
      Object.entries(summary.quantiles as Record<string, number>)
        .map(([q, value]) => ({ q: Number(q), value }))
        .sort((a, b) => a.q - b.q),
  },

  Curation: {
    id: (curation) => toGlobalId('Curation', curation.id),
    async sourceDataset(curation, _args, { loaders }) {
      const dataset = await loaders.dataset.load(curation.sourceDatasetId);
      if (!dataset) throw notFound(`Dataset ${curation.sourceDatasetId} was not found.`);
      return dataset;
    },
    curatedDataset: (curation, _args, { loaders }) =>
      curation.curatedDatasetId ? loaders.dataset.load(curation.curatedDatasetId) : null,
    async raterVersion(curation, _args, { loaders }) {
      const version = await loaders.raterVersion.load(curation.raterVersionId);
      if (!version) throw notFound(`Rater version ${curation.raterVersionId} was not found.`);
      return version;
    },
    strategy: (curation) => curation.strategy as never,
    parameters: (curation) => curation.parameters,
    evaluations: (curation, _args, { loaders }) => loaders.evaluationsByCuration.load(curation.id),
  },

  Evaluation: {
    id: (evaluation) => toGlobalId('Evaluation', evaluation.id),
    async curation(evaluation, _args, { loaders }) {
      const curation = await loaders.curation.load(evaluation.curationId);
      if (!curation) throw notFound(`Curation ${evaluation.curationId} was not found.`);
      return curation;
    },
    budget: (evaluation) => evaluation.budget,
    result: (evaluation) => evaluation.result,
  },
};
