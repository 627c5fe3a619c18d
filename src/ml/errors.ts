/**
 * Errors that `src/ml` throws on purpose. Each carries a stable `code` so callers (the job layer)
 * can map it without parsing messages. Programming errors (wrong tensor shapes passed by a
 * caller) stay plain `Error`s whose message starts with the function name.
 */

/** Stable codes of {@link MlError}. */
export type MlErrorCode =
  | 'INVALID_CONFIG'
  | 'BACKEND_UNAVAILABLE'
  | 'SELF_CHECK_FAILED'
  | 'NON_FINITE_SCORE'
  | 'INVALID_CHECKPOINT'
  | 'INVALID_DATA'
  | 'INVALID_ARGUMENT'
  | 'WORKER_FAILED';

/** Base class of the errors `src/ml` raises deliberately. */
export class MlError extends Error {
  readonly code: MlErrorCode;

  constructor(code: MlErrorCode, message: string) {
    super(message);
    this.name = 'MlError';
    this.code = code;
  }
}

/** A configuration field is unknown or out of range; `field` names it. */
export class ConfigError extends MlError {
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, requirement: string) {
    super('INVALID_CONFIG', `Invalid config field "${field}": ${requirement}, got ${show(value)}`);
    this.name = 'ConfigError';
    this.field = field;
    this.value = value;
  }
}

/** A rater produced a NaN or infinite score; `index` is the example's position in the input. */
export class NonFiniteScoreError extends MlError {
  readonly index: number;
  readonly score: number;

  constructor(index: number, score: number) {
    super(
      'NON_FINITE_SCORE',
      `Rater produced a non-finite score (${score}) for example ${index}; the rater weights are ` +
        'probably corrupt (retrain or restore an earlier version), so no scores were returned',
    );
    this.name = 'NonFiniteScoreError';
    this.index = index;
    this.score = score;
  }
}

/** Formats a value for an error message: strings quoted, long values cut. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
