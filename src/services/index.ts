// Long-lived collaborators that services share for the life of a server process.
import type { JobSystem } from '../jobs/system.js';
import type { RaterCache } from './rate-examples.js';

export interface ServerInfo {
  version: string;
  database: 'embedded' | 'external';
  /** TensorFlow.js backend of the in-process worker, or null without one. */
  backend: string | null;
}

export interface Services {
  info: ServerInfo;
  /** Longest accepted line of an uploaded file, in bytes. */
  maxUploadLineBytes: number;
  /** Whether GraphQL and HTTP routes require an API token. */
  authRequired: boolean;
  /** Queue, job events and sweeper of this process. */
  jobs: JobSystem;
  /** Loaded raters for on-demand scoring, by rater version. */
  raterCache: RaterCache;
}
