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

/**
 * What a tenant is told when MetaSync could not talk to a source server: the same words whatever lay behind the
 * port (nothing listening, a firewall dropping packets, a name that does not resolve, a server of another kind, or
 * a destination MetaSync's policy refuses), so the answer cannot map a network. The operator's log has the reason.
 */
export const cannotConnect = (what: string): string =>
  `cannot connect to ${what} — check the host and port, that the server is running and accepts connections from MetaSync, and that MetaSync's destination policy allows it`;

/**
 * A TLS failure, in words, or undefined when the error is no TLS failure. Each one needs a server that spoke its
 * protocol first (PostgreSQL answers the TLS request; MySQL greets before TLS starts), so saying which reveals
 * nothing about ports where no such server listens.
 */
export function tlsFailure(error: unknown, what: string, host: string): string | undefined {
  const code = errorCode(error) ?? '';
  const message = errorMessage(error);
  // mysql2 gives every TLS failure one code, keeping the TLS error's words only.
  const handshake = code === 'HANDSHAKE_SSL_ERROR';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || (handshake && /altnames|does not match/i.test(message))) {
    return `${what}: its TLS certificate does not name ${host} — connect by a name the certificate has, or use tls mode verify-ca`;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_/.test(code) || (handshake && /certificate/i.test(message))) {
    return `${what}: its TLS certificate is not trusted (${handshake ? message : code}) — give the CA that signed it as tls.ca, or use tls mode require`;
  }
  if (handshake)
    return `${what}: TLS failed (${message}) — check the server's TLS settings, or the connection's tls mode`;
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT' || /server does not support SSL/i.test(message)) {
    return `${what} does not offer TLS — enable TLS on the server, or set tls mode disable`;
  }
  return undefined;
}

/**
 * How one source words what its driver threw (lib/extractors/<type>/failure.ts). `known` says the cases it knows,
 * in words that say what to do; until the source answered, any other failure reads as `unanswered` says (for a
 * server, one "cannot connect" whatever lay behind the port); after, it is passed on as is.
 */
export interface FailureWording<Config> {
  known(error: unknown, config: Config): ExtractionError | undefined;
  unanswered(error: unknown, config: Config): ExtractionError;
  /** The config's secrets, masked out of every message in case a driver ever repeats one. */
  secrets(config: Config): readonly (string | undefined)[];
}

/**
 * The one path from a driver's error to what a tenant is told, taken by a source's extractor and by the connection
 * check alike. `connected`: whether the source answered (a session is established, a dump's reading began).
 */
export function sourceFailure<C>(
  wording: FailureWording<C>,
  config: C,
  error: unknown,
  connected: false,
): ExtractionError;
export function sourceFailure<C>(wording: FailureWording<C>, config: C, error: unknown, connected: boolean): unknown;
export function sourceFailure<C>(wording: FailureWording<C>, config: C, error: unknown, connected: boolean): unknown {
  const failure =
    error instanceof ExtractionError
      ? error
      : (wording.known(error, config) ?? (connected ? undefined : wording.unanswered(error, config)));
  if (!failure) return error;
  const message = wording.secrets(config).reduce<string>((text, secret) => mask(text, secret ?? ''), failure.message);
  return message === failure.message ? failure : new ExtractionError(failure.code, message, { cause: failure.cause });
}

/** Replaces every occurrence of the secret; a very short one would mask half the message, and guards little. */
export function mask(text: string, secret: string): string {
  return secret.length < 4 ? text : text.split(secret).join('***');
}
