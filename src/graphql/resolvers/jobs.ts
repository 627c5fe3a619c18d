// Jobs (reads).
import type { Resolvers } from '../../generated/graphql.js';
import { listJobs, jobCursor } from '../../services/jobs.js';
import { toConnection } from '../connection.js';
import { fromGlobalId, toGlobalId } from '../ids.js';

type Subjects = {
  datasetId?: string;
  raterVersionId?: string;
  curationId?: string;
  evaluationId?: string;
};

export const jobResolvers: Resolvers = {
  Query: {
    async jobs(_parent, { status, kind, ...args }, { db }) {
      const page = await listJobs(db, { status, kind }, args);
      return toConnection(page, jobCursor);
    },
    job: (_parent, { id }, { loaders }) => loaders.job.load(fromGlobalId(id, 'Job')),
  },

  Job: {
    id: (job) => toGlobalId('Job', job.id),
    parameters: (job) => job.parameters,
    result: (job) => job.result,
    raterVersion: (job, _args, { loaders }) =>
      load(job.subjects, 'raterVersionId', (id) => loaders.raterVersion.load(id)),
    dataset: (job, _args, { loaders }) =>
      load(job.subjects, 'datasetId', (id) => loaders.dataset.load(id)),
    curation: (job, _args, { loaders }) =>
      load(job.subjects, 'curationId', (id) => loaders.curation.load(id)),
    evaluation: (job, _args, { loaders }) =>
      load(job.subjects, 'evaluationId', (id) => loaders.evaluation.load(id)),
  },
};

function load<T>(
  subjects: unknown,
  key: keyof Subjects,
  loader: (id: string) => Promise<T | null>,
): Promise<T | null> | null {
  const id = (subjects as Subjects | null)?.[key];
  return typeof id === 'string' ? loader(id) : null;
}
