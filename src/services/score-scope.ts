// The score rows that belong to (rater version, dataset). A plain dataset owns its examples, so its
// scores carry its own id. A curated dataset holds its source dataset's examples by reference, so
// its scores carry the source dataset's id and are narrowed to the curation's members.
import type { Database } from '../db/client.js';
import { datasetNotFound } from './datasets.js';
import { notFound } from './errors.js';

export interface ScoreScope {
  raterVersionId: string;
  /** The dataset of the request. */
  datasetId: string;
  /** `score.dataset_id` of the rows in scope: the dataset itself, or a curation's source. */
  scoreDatasetId: string;
  /** Set for a curated dataset: only this curation's members are in scope. */
  curationId: string | null;
}

/**
 * Returns the SQL condition on `score s` that selects the rows of a scope, with parameters $1
 * (rater version), $2 (score dataset) and $3 (curation or null). A plain dataset is a range of
 * the (rater_version_id, dataset_id, score, example_seq) index. A curated dataset adds a
 * membership probe per row, which the planner runs as a nested loop on the curation_member
 * primary key when a LIMIT is near. An `$3 IS NULL OR EXISTS` form would instead hash every
 * member first.
 */
export function scoreScopeSql(scope: ScoreScope): string {
  const rows = 's.rater_version_id = $1::uuid AND s.dataset_id = $2::uuid';
  if (scope.curationId === null) return `${rows} AND $3::uuid IS NULL`;
  return `${rows} AND EXISTS (SELECT 1 FROM curation_member m
    WHERE m.curation_id = $3::uuid AND m.example_seq = s.example_seq)`;
}

export function scopeParams(scope: ScoreScope): [string, string, string | null] {
  return [scope.raterVersionId, scope.scoreDatasetId, scope.curationId];
}

/**
 * Resolves the score rows of a rater version on a dataset. Throws NOT_FOUND naming the id when
 * the dataset or the rater version does not exist.
 */
export async function resolveScoreScope(
  db: Database,
  raterVersionId: string,
  datasetId: string,
): Promise<ScoreScope> {
  const [version, dataset] = await Promise.all([
    db.prisma.raterVersion.findUnique({ where: { id: raterVersionId }, select: { id: true } }),
    db.prisma.dataset.findUnique({
      where: { id: datasetId },
      select: { curation: { select: { id: true, sourceDatasetId: true } } },
    }),
  ]);
  if (!dataset) throw datasetNotFound(datasetId);
  if (!version) throw raterVersionNotFound(raterVersionId);

  return {
    raterVersionId,
    datasetId,
    scoreDatasetId: dataset.curation?.sourceDatasetId ?? datasetId,
    curationId: dataset.curation?.id ?? null,
  };
}

export function raterVersionNotFound(id: string) {
  return notFound(
    `Rater version ${id} was not found. List the versions of a rater with the rater query.`,
    { raterVersionId: id },
  );
}
