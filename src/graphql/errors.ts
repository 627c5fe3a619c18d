// The one place where errors become GraphQL errors. AppErrors keep their code and message;
// anything else is logged with its stack and reaches the client only as INTERNAL_SERVER_ERROR.
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { AppError, type ErrorCode } from '../services/errors.js';

/** Apollo codes for malformed operations, which are the client's fault and safe to show. */
const OPERATION_CODES: Record<string, ErrorCode> = {
  GRAPHQL_PARSE_FAILED: 'BAD_USER_INPUT',
  GRAPHQL_VALIDATION_FAILED: 'BAD_USER_INPUT',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_FOUND: 'BAD_USER_INPUT',
  PERSISTED_QUERY_NOT_SUPPORTED: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'BAD_USER_INPUT',
  BAD_REQUEST: 'BAD_USER_INPUT',
};

/** Builds Apollo's `formatError`: keeps public errors, masks and logs the rest. */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = originalErrorOf(error);

    if (original instanceof AppError) {
      return {
        ...formatted,
        message: original.message,
        extensions: { ...original.details, code: original.code },
      };
    }

    // Parse, validation and argument-coercion errors carry Apollo's codes and no error of ours.
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && OPERATION_CODES[code]) {
      return { ...formatted, extensions: { ...formatted.extensions, code: OPERATION_CODES[code] } };
    }

    logger.error({ err: original, path: formatted.path }, 'unexpected error in GraphQL operation');
    return {
      message: 'Internal server error. The server log has the details.',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

/**
 * Unwraps the error a resolver threw from its GraphQLError. Duck-typed, because graphql 16 ships
 * CommonJS and ESM copies whose GraphQLError classes fail `instanceof` across each other.
 */
function originalErrorOf(error: unknown): unknown {
  let current = error;
  while (
    current instanceof Error &&
    'originalError' in current &&
    current.originalError instanceof Error
  ) {
    current = current.originalError;
  }
  return current;
}
