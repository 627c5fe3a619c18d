// API tokens: random secrets shown once, stored as SHA-256 hashes, each with a role.
import crypto from 'node:crypto';
import type { Database } from '../db/client.js';
import type { ApiToken } from '../generated/prisma/client.js';
import { AppError, badInput, notFound } from './errors.js';

export type Role = 'READER' | 'WRITER' | 'ADMIN';

/** Caller identity: a token's id and role, or open access on a server without auth. */
export interface Principal {
  tokenId: string | null;
  role: Role;
}

const ROLE_RANK: Record<Role, number> = { READER: 0, WRITER: 1, ADMIN: 2 };

/** Prefix of every token, so a leaked one is recognisable. */
const TOKEN_PREFIX = 'drs_';

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Creates a token; the returned secret is not stored and cannot be shown again. */
export async function createApiToken(
  db: Database,
  input: { name: string; role: Role },
): Promise<{ apiToken: ApiToken; token: string }> {
  const name = input.name.trim();
  if (name === '' || name.length > 200) {
    throw badInput(
      `Invalid token name ${JSON.stringify(input.name)}: expected 1 to 200 characters.`,
    );
  }
  const token = TOKEN_PREFIX + crypto.randomBytes(24).toString('base64url');
  const apiToken = await db.prisma.apiToken.create({
    data: { name, role: input.role, tokenHash: hashToken(token) },
  });
  return { apiToken, token };
}

export async function revokeApiToken(db: Database, id: string): Promise<ApiToken> {
  const existing = await db.prisma.apiToken.findUnique({ where: { id } });
  if (!existing) throw notFound(`API token ${id} was not found.`, { tokenId: id });
  if (existing.revokedAt) return existing;
  return db.prisma.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
}

/**
 * Resolves the bearer token of a request. Without a token, the caller is an anonymous ADMIN when
 * the server does not require auth, and is rejected with UNAUTHENTICATED when it does.
 */
export async function authenticate(
  db: Database,
  authorization: string | undefined,
  authRequired: boolean,
): Promise<Principal> {
  if (!authorization) {
    if (authRequired) {
      throw new AppError(
        'UNAUTHENTICATED',
        'This server requires an API token: send the header "Authorization: Bearer <token>".',
      );
    }
    return { tokenId: null, role: 'ADMIN' };
  }

  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match?.[1]) {
    throw new AppError(
      'UNAUTHENTICATED',
      'Malformed Authorization header: expected "Bearer <token>".',
    );
  }
  const row = await db.prisma.apiToken.findUnique({ where: { tokenHash: hashToken(match[1]) } });
  if (!row || row.revokedAt) {
    throw new AppError(
      'UNAUTHENTICATED',
      'Unknown or revoked API token. Create one with createApiToken.',
    );
  }

  // Last-use time is informational; a failed update must not fail the request.
  void db.prisma.apiToken
    .update({ where: { id: row.id }, data: { lastUsedAt: new Date() } })
    .catch(() => undefined);
  return { tokenId: row.id, role: row.role };
}

/** Throws FORBIDDEN unless the principal has at least `role`. */
export function requireRole(principal: Principal, role: Role): void {
  if (ROLE_RANK[principal.role] < ROLE_RANK[role]) {
    throw new AppError(
      'FORBIDDEN',
      `This operation needs the ${role} role; the token has ${principal.role}.`,
    );
  }
}
