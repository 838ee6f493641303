import { z } from 'zod';

export const ExtractionErrorCode = z.enum([
  'unreachable',
  'authentication',
  'permission_denied',
  'not_found',
  'invalid_source',
]);
export type ExtractionErrorCode = z.infer<typeof ExtractionErrorCode>;

/**
 * A source that cannot be read, for a reason whoever configured it can act on: the message says what to do.
 * Only an unreachable source may come back by itself, so only that one is worth retrying.
 */
export class ExtractionError extends Error {
  constructor(
    readonly code: ExtractionErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ExtractionError';
  }

  get retryable(): boolean {
    return this.code === 'unreachable';
  }
}

/** The driver's error code (Node's ECONNREFUSED, PostgreSQL's SQLSTATE, MySQL's ER_*), if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors } = error as { code?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  // Connecting to a name with both an IPv4 and an IPv6 address fails with an AggregateError of both attempts.
  return Array.isArray(errors) ? errorCode(errors[0]) : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const NETWORK_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'host name lookup failed',
};

/** Why the network failed, in words, when the error is a network failure. */
export function networkFailure(error: unknown): string | undefined {
  const code = errorCode(error);
  return code === undefined ? undefined : NETWORK_FAILURES[code];
}

/** The issues of a failed zod parse on one line: "port: Too big: expected number to be <=65535; user: ...". */
export function zodIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}
