import { z } from 'zod';
import { DestinationRefused, type DestinationGuard } from '../platform/destinations.js';
import {
  cannotConnect,
  errorMessage,
  ExtractionError,
  networkFailure,
  tlsFailure,
  type FailureWording,
} from './errors.js';

/**
 * What the database-server sources (PostgreSQL, MySQL) share: the fields of their connections, their TLS modes,
 * the destination check before connecting, the wording of failures common to servers, their URI form, and how an
 * API body keeps a stored password. Each source's own folder says the rest.
 */

export const host = z.string().min(1).max(255);
export const port = z.number().int().min(1).max(65535);
export const name = z.string().min(1).max(255);
/** Bounds connecting (TCP and the server's greeting), so an unanswering host fails instead of hanging. */
export const connectTimeoutSeconds = z.number().int().min(1).max(120).default(10);

/**
 * TLS to the source, as libpq names its modes: disable (plain TCP), require (encrypted, the certificate not
 * checked), verify-ca (the certificate chains to a trusted CA), verify-full (and names the host connected to).
 * The trusted CAs are `ca` when given (PEM), else the system's.
 */
export const TlsSettings = z
  .strictObject({
    mode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('disable'),
    ca: z
      .string()
      .max(65_536)
      .regex(/^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'expected PEM certificates')
      .optional()
      .describe('PEM: the CA certificates to trust for verify-ca and verify-full; by default the system’s'),
  })
  .default({ mode: 'disable' })
  .describe('TLS to the source: disable, require, verify-ca or verify-full (libpq’s modes), with an optional CA');
export type TlsSettings = z.infer<typeof TlsSettings>;

/** A server's password in an API body: it may be left out to keep the stored one. */
export const keptPassword = z
  .string()
  .optional()
  .describe('Stored sealed, never shown. Left out on an existing connection of the same type: the stored one is kept');

/**
 * A server's PUT body with its password: the one given, else the stored connection's (of the same type), else
 * why there is none to keep.
 */
export async function keepPassword<Body extends { type: string; password?: string | undefined }>(
  body: Body,
  stored: () => Promise<{ password: string } | undefined>,
  connectionId: string,
): Promise<(Body & { password: string }) | { problem: string }> {
  const password = body.password ?? (await stored())?.password;
  if (password === undefined) {
    return {
      problem: `password is required, as there is no ${body.type} connection ${connectionId} whose password to keep (send "" for none)`,
    };
  }
  return { ...body, password };
}

/**
 * A server URI (postgres://user@host:port/db, mysql://user@host:port) as its user, host, port and path, and who
 * logs in (user@host:port) for the password's prompt. Throws for one that is no URL at all, without repeating it:
 * it may hold the password.
 */
export function serverUri(uri: string, defaultPort: number) {
  if (!URL.canParse(uri)) {
    const scheme = /^[^:]*/.exec(uri)![0].toLowerCase();
    throw new Error(
      `not a valid ${scheme}:// URL: check the port (1-65535), and percent-encode any of : / @ ? # in the user and password`,
    );
  }
  const url = new URL(uri);
  const server = {
    host: url.hostname,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    port: Number(url.port || defaultPort),
  };
  return { server, path: url.pathname, login: `${server.user}@${server.host}:${server.port}` };
}

interface Server {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * The address to connect to, the one the destination policy checked (DestinationGuard.pin): never connect to a
 * second lookup of the name. A destination refused or not found reads as one "cannot connect", like a server that
 * does not answer.
 */
export function pinServer(source: Server, destinations: DestinationGuard, where: string): Promise<string> {
  return destinations.pin(source).catch((error: unknown) => {
    throw new ExtractionError('unreachable', cannotConnect(where), { cause: error });
  });
}

/**
 * How a server source words its driver's errors: a TLS failure says what is wrong with TLS; a refused destination,
 * a network failure or what `unanswered` recognizes reads as one "cannot connect", whatever lay behind the port;
 * then the server's own `answers`, by the driver's codes.
 */
export function serverFailure<Config extends Server>(words: {
  where(source: Config): string;
  unanswered(error: unknown): boolean;
  answers(error: unknown, source: Config): ExtractionError | undefined;
}): FailureWording<Config> {
  const unanswered = (error: unknown, source: Config) =>
    new ExtractionError('unreachable', cannotConnect(words.where(source)), { cause: error });
  return {
    secrets: (source) => [source.password],
    unanswered,
    known(error, source) {
      const tls = tlsFailure(error, words.where(source), source.host);
      if (tls) return new ExtractionError('authentication', tls, { cause: error });
      if (error instanceof DestinationRefused || networkFailure(error) || words.unanswered(error)) {
        return unanswered(error, source);
      }
      return words.answers(error, source);
    },
  };
}

/** The server did not accept the user's credentials. */
export const loginRefused = (where: string, source: Server, error: unknown) =>
  new ExtractionError(
    'authentication',
    `${where} did not accept user ${JSON.stringify(source.user)} (${errorMessage(error)}) — check the user name and password`,
    { cause: error },
  );

/** The server is there, but takes no session now (shutting down, starting up, out of connections). */
export const serverBusy = (where: string, error: unknown) =>
  new ExtractionError(
    'unreachable',
    `cannot use ${where} now: ${errorMessage(error)} — retry later, or check the server`,
    { cause: error },
  );
