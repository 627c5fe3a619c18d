// Score analytics: summaries, score-ordered examples, rater comparisons, rater reports and
// on-demand scoring of new texts.
import type { Resolvers } from '../../generated/graphql.js';
import {
  getScoreAnalytics,
  listScoredExamples,
  scoredExampleCursor,
} from '../../services/analytics.js';
import { badInput, notFound } from '../../services/errors.js';
import { encodeCursor } from '../../services/pagination.js';
import { compareRaterVersions } from '../../services/rater-comparison.js';
import { rateExamples } from '../../services/rate-examples.js';
import { computeRaterReport } from '../../services/rater-report.js';
import { interpolateQuantiles, rebinHistogram } from '../../services/score-stats.js';
import type { Loaders } from '../loaders.js';
import { fromGlobalId } from '../ids.js';

/** Most quantiles one field returns. */
const MAX_QUANTILES = 1000;

export const analyticsResolvers: Resolvers = {
  Query: {
    scoreAnalytics: (_parent, args, { db }) =>
      getScoreAnalytics(
        db,
        fromGlobalId(args.raterVersionId, 'RaterVersion', 'raterVersionId'),
        fromGlobalId(args.datasetId, 'Dataset', 'datasetId'),
      ),

    async scoredExamples(_parent, { raterVersionId, datasetId, order, ...args }, { db }) {
      const page = await listScoredExamples(
        db,
        fromGlobalId(raterVersionId, 'RaterVersion', 'raterVersionId'),
        fromGlobalId(datasetId, 'Dataset', 'datasetId'),
        {
          order: order ?? 'DESC',
          minScore: args.minScore,
          maxScore: args.maxScore,
          split: args.split,
        },
        args,
      );
      const edges = page.rows.map((row) => ({
        cursor: encodeCursor(scoredExampleCursor(row)),
        node: row.example,
        score: row.score,
      }));
      return {
        edges,
        nodes: edges.map((edge) => edge.node),
        pageInfo: {
          hasNextPage: page.hasNextPage,
          hasPreviousPage: page.hasPreviousPage,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },

    compareRaterVersions: (_parent, args, { db }) =>
      compareRaterVersions(
        db,
        fromGlobalId(args.datasetId, 'Dataset', 'datasetId'),
        fromGlobalId(args.baseVersionId, 'RaterVersion', 'baseVersionId'),
        fromGlobalId(args.otherVersionId, 'RaterVersion', 'otherVersionId'),
        {
          discardFraction: args.discardFraction ?? 0.1,
          rankChanges: args.rankChanges ?? 20,
          kendallSampleSize: args.kendallSampleSize ?? 5000,
          seed: args.seed ?? 1,
        },
      ),

    rateExamples: (_parent, { raterVersionId, texts }, { db, services }) =>
      rateExamples(
        db,
        services.raterCache,
        fromGlobalId(raterVersionId, 'RaterVersion', 'raterVersionId'),
        texts,
      ),

    raterReport: (_parent, args, { db }) =>
      computeRaterReport(
        db,
        fromGlobalId(args.raterVersionId, 'RaterVersion', 'raterVersionId'),
        fromGlobalId(args.datasetId, 'Dataset', 'datasetId'),
        { sampleSize: args.sampleSize ?? 5000, seed: args.seed ?? 1 },
      ),
  },

  ScoreAnalytics: {
    raterVersion: (analytics, _args, { loaders }) =>
      loadRaterVersion(loaders, analytics.raterVersionId),
    dataset: (analytics, _args, { loaders }) => loadDataset(loaders, analytics.datasetId),
    histogram: (analytics, { bins }) => rebinHistogram(analytics.histogram, bins ?? 20),
    quantiles: (analytics, { qs }) => interpolateQuantiles(analytics.quantiles, checkQuantiles(qs)),
    omittedSourceCount: (analytics) => analytics.omittedSources,
    omittedLabelCount: (analytics) => analytics.omittedLabels,
  },

  GroupScoreStats: {
    quantiles: (group, { qs }) => interpolateQuantiles(group.quantiles, checkQuantiles(qs)),
  },

  RaterComparison: {
    dataset: (comparison, _args, { loaders }) => loadDataset(loaders, comparison.datasetId),
    baseVersion: (comparison, _args, { loaders }) =>
      loadRaterVersion(loaders, comparison.baseVersionId),
    otherVersion: (comparison, _args, { loaders }) =>
      loadRaterVersion(loaders, comparison.otherVersionId),
  },

  RaterReport: {
    raterVersion: (report, _args, { loaders }) => loadRaterVersion(loaders, report.raterVersionId),
    dataset: (report, _args, { loaders }) => loadDataset(loaders, report.datasetId),
  },
};

function checkQuantiles(qs: readonly number[]): readonly number[] {
  if (qs.length > MAX_QUANTILES) {
    throw badInput(`Too many quantiles: ${qs.length} requested, at most ${MAX_QUANTILES} allowed.`);
  }
  return qs;
}

async function loadDataset(loaders: Loaders, id: string) {
  const dataset = await loaders.dataset.load(id);
  if (!dataset) throw notFound(`Dataset ${id} was not found.`, { datasetId: id });
  return dataset;
}

async function loadRaterVersion(loaders: Loaders, id: string) {
  const version = await loaders.raterVersion.load(id);
  if (!version) throw notFound(`Rater version ${id} was not found.`, { raterVersionId: id });
  return version;
}
