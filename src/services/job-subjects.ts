// Lookups of what a job mutation names, with the errors the API promises: NOT_FOUND naming the
// id, BAD_USER_INPUT naming a rater version that is not READY.
import type { Database } from '../db/client.js';
import type { Curation, RaterVersion } from '../generated/prisma/client.js';
import { badInput, notFound } from './errors.js';
import { requireUuid } from './job-data.js';
import { raterVersionNotFound } from './score-scope.js';

export async function requireRaterVersion(db: Database, id: string): Promise<RaterVersion> {
  requireUuid(id, 'Rater version');
  const version = await db.prisma.raterVersion.findUnique({ where: { id } });
  if (!version) throw raterVersionNotFound(id);
  return version;
}

/** A rater version that finished training and has weights; BAD_USER_INPUT otherwise. */
export async function requireReadyVersion(
  db: Database,
  id: string,
  purpose: string,
): Promise<RaterVersion & { weights: Uint8Array }> {
  const version = await requireRaterVersion(db, id);
  if (version.status !== 'READY' || !version.weights) {
    throw badInput(
      `Rater version ${id} is ${version.status}, not READY, so it cannot be used ${purpose}. ` +
        'Wait for its training job to succeed, or retry that job.',
      { raterVersionId: id, status: version.status },
    );
  }
  return version as RaterVersion & { weights: Uint8Array };
}

export async function requireCuration(db: Database, id: string): Promise<Curation> {
  requireUuid(id, 'Curation');
  const curation = await db.prisma.curation.findUnique({ where: { id } });
  if (!curation) {
    throw notFound(`Curation ${id} was not found.`, { curationId: id });
  }
  return curation;
}
