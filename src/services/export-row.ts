// The row that an export writes, shared by the export pipeline and its encoders.
import type { Split } from './datasets.js';

/** One exported example. */
export interface ExportRow {
  /** The example's seq, the key of its global id. */
  seq: number;
  /** External id, unique within the source dataset. */
  id: string | null;
  text: string;
  label: string | null;
  source: string | null;
  split: Split;
  meta: unknown;
  /** Score under the requested rater version; null when that version has not scored it. */
  score: number | null;
}

/** Returns the global id of an example, as the GraphQL API shows it. */
export function exampleGlobalId(seq: number): string {
  return Buffer.from(`Example:${seq}`, 'utf8').toString('base64url');
}
