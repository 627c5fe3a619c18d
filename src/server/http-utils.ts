// Small helpers for the plain HTTP routes beside GraphQL.
import type http from 'node:http';
import { AppError, type ErrorCode } from '../services/errors.js';

/** HTTP status of each public error code. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INTERNAL_SERVER_ERROR: 500,
};

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/**
 * Sends an error as `{ error: { code, message, ...details } }`. AppErrors keep their code and
 * message; anything else is masked as INTERNAL_SERVER_ERROR (the caller logs it).
 */
export function sendError(res: http.ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  if (error instanceof AppError) {
    sendJson(res, HTTP_STATUS[error.code], {
      error: { ...error.details, code: error.code, message: error.message },
    });
    return;
  }
  sendJson(res, 500, {
    error: {
      code: 'INTERNAL_SERVER_ERROR',
      message: 'Internal server error. The server log has the details.',
    },
  });
}
