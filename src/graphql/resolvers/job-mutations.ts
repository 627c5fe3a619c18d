// Job mutations (meta-training, scoring, curation, evaluation, cancel, retry) and the jobUpdated
// subscription. Each mutation validates its input in a service and returns the queued Job.
import type { Resolvers, TrainingPoint } from '../../generated/graphql.js';
import { curateDataset } from '../../services/curation.js';
import { evaluateCuration } from '../../services/evaluation.js';
import { cancelJob, retryJob } from '../../services/job-control.js';
import { watchJob, type JobEvent } from '../../services/job-watch.js';
import { scoreDataset } from '../../services/scoring.js';
import { requireRole } from '../../services/tokens.js';
import { startMetaTraining } from '../../services/training.js';
import { fromGlobalId } from '../ids.js';
import type { GraphQLContext } from '../context.js';
import { createLoaders } from '../loaders.js';

export const jobMutationResolvers: Resolvers = {
  Mutation: {
    async startMetaTraining(_parent, { input }, { db, services, principal }) {
      requireRole(principal, 'WRITER');
      return startMetaTraining(
        db,
        services.jobs,
        {
          raterName: input.raterName,
          trainingDatasetId: fromGlobalId(input.trainingDatasetId, 'Dataset', 'trainingDatasetId'),
          heldoutDatasetId:
            input.heldoutDatasetId != null
              ? fromGlobalId(input.heldoutDatasetId, 'Dataset', 'heldoutDatasetId')
              : null,
          innerTask: input.innerTask ?? 'LANGUAGE_MODEL',
          config: input.config ?? undefined,
          seed: input.seed ?? 1,
          backend: input.backend ?? 'ANY',
          parentVersionId:
            input.parentVersionId != null
              ? fromGlobalId(input.parentVersionId, 'RaterVersion', 'parentVersionId')
              : null,
        },
        services.jobs.settings.defaultBackend,
      );
    },

    async scoreDataset(_parent, args, { db, services, principal }) {
      requireRole(principal, 'WRITER');
      return scoreDataset(db, services.jobs, {
        raterVersionId: fromGlobalId(args.raterVersionId, 'RaterVersion', 'raterVersionId'),
        datasetId: fromGlobalId(args.datasetId, 'Dataset', 'datasetId'),
        windowSize: services.jobs.settings.scoreWindowSize,
        batchSize: services.jobs.settings.scoreBatchSize,
      });
    },

    async curateDataset(_parent, { input }, { db, services, principal }) {
      requireRole(principal, 'WRITER');
      return curateDataset(db, services.jobs, {
        datasetId: fromGlobalId(input.datasetId, 'Dataset', 'datasetId'),
        raterVersionId: fromGlobalId(input.raterVersionId, 'RaterVersion', 'raterVersionId'),
        strategy: input.strategy,
        discardFraction: input.discardFraction,
        batchSize: input.batchSize ?? 64,
        threshold: input.threshold,
        seed: input.seed ?? 1,
        name: input.name,
        split: input.split ?? 'TRAIN',
      });
    },

    async evaluateCuration(_parent, { input }, { db, services, principal }) {
      requireRole(principal, 'WRITER');
      return evaluateCuration(db, services.jobs, {
        curationId: fromGlobalId(input.curationId, 'Curation', 'curationId'),
        steps: input.steps ?? 300,
        batchSize: input.batchSize ?? 32,
        evalEvery: input.evalEvery ?? 25,
        seed: input.seed ?? 1,
      });
    },

    async cancelJob(_parent, { id }, { db, services, principal }) {
      requireRole(principal, 'WRITER');
      return cancelJob(db, services.jobs, fromGlobalId(id, 'Job'));
    },

    async retryJob(_parent, { id }, { db, services, principal }) {
      requireRole(principal, 'WRITER');
      return retryJob(db, services.jobs, fromGlobalId(id, 'Job'));
    },
  },

  Subscription: {
    jobUpdated: {
      subscribe: (_parent, { id }, { db, services }) =>
        watchJob(db, services.jobs, fromGlobalId(id, 'Job')).then((events) => mapEvents(events)),
      resolve(event: JobEvent, _args: unknown, context: GraphQLContext) {
        // graphql-ws builds one context per subscription and executes every event with it. Fresh
        // loaders per event keep the nested fields (the rater version's status) current.
        context.loaders = createLoaders(context.db);
        return { job: event.job, trainingPoints: event.trainingPoints as TrainingPoint[] };
      },
    },
  },
};

/** Wraps the stream in an AsyncIterable typed as the subscription payload. */
function mapEvents(events: AsyncIterableIterator<JobEvent>): AsyncIterable<never> {
  return events as unknown as AsyncIterable<never>;
}
