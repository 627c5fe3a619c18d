// Opaque global ids: base64url of "Type:key". Clients treat them as strings; the server decodes
// them back to a type and a database key.
import { badInput } from '../services/errors.js';

export type NodeType =
  'Dataset' | 'Example' | 'Rater' | 'RaterVersion' | 'Curation' | 'Evaluation' | 'Job' | 'ApiToken';

const NODE_TYPES: ReadonlySet<string> = new Set<NodeType>([
  'Dataset',
  'Example',
  'Rater',
  'RaterVersion',
  'Curation',
  'Evaluation',
  'Job',
  'ApiToken',
]);

/** Keys of every type but Example are UUIDs; Example keys are positive sequence numbers. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function isSequenceNumber(key: string): boolean {
  return /^[1-9][0-9]{0,15}$/.test(key) && Number.isSafeInteger(Number(key));
}

export function toGlobalId(type: NodeType, key: string | number | bigint): string {
  return Buffer.from(`${type}:${key}`, 'utf8').toString('base64url');
}

/** Decodes a global id of any type; returns null for a string that is not one. */
export function decodeGlobalId(id: string): { type: NodeType; key: string } | null {
  const decoded = Buffer.from(id, 'base64url').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;

  const type = decoded.slice(0, colon);
  const key = decoded.slice(colon + 1);
  if (!NODE_TYPES.has(type) || toGlobalId(type as NodeType, key) !== id) return null;
  if (!(type === 'Example' ? isSequenceNumber(key) : UUID.test(key))) return null;
  return { type: type as NodeType, key };
}

/**
 * Decodes a global id that must be of `type`. Throws BAD_USER_INPUT naming the argument and the
 * value when it is not.
 */
export function fromGlobalId(id: string, type: NodeType, argument = 'id'): string {
  const decoded = decodeGlobalId(id);
  if (!decoded || decoded.type !== type) {
    throw badInput(`Invalid ${argument} ${JSON.stringify(id)}: expected the id of a ${type}.`, {
      argument,
      value: id,
    });
  }
  return decoded.key;
}

/** Decodes an Example id to its sequence number. */
export function exampleSeqFromGlobalId(id: string, argument = 'id'): number {
  const key = fromGlobalId(id, 'Example', argument);
  const seq = Number(key);
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw badInput(`Invalid ${argument} ${JSON.stringify(id)}: expected the id of an Example.`);
  }
  return seq;
}
