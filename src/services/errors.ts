// Domain errors. Services throw AppError with a code from one closed set. The GraphQL layer
// and the HTTP routes turn the code into `extensions.code` or an HTTP status in one place.

/** The public error codes. Anything else reaching a client is masked as INTERNAL_SERVER_ERROR. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'INTERNAL_SERVER_ERROR';

export class AppError extends Error {
  override readonly name = 'AppError';

  /**
   * @param code public error code
   * @param message what failed, on which value, and what to do next
   * @param details structured facts a client can act on (for example `{ line: 12 }`)
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new AppError('BAD_USER_INPUT', message, details);

export const notFound = (message: string, details?: Record<string, unknown>) =>
  new AppError('NOT_FOUND', message, details);

export const conflict = (message: string, details?: Record<string, unknown>) =>
  new AppError('CONFLICT', message, details);
