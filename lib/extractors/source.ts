import { z } from 'zod';
import type { FailureWording } from './errors.js';
import type { Extractor, ExtractorDeps } from './extractor.js';

/**
 * A source, as one typed object per source type (lib/extractors/<type>/index.ts): how to reach it (a zod schema),
 * what of it may be shown and sent over the API, how to read its catalog, how to probe it, and how its failures are
 * worded. The registry (registry.ts) builds everything that lists sources from its list of these. The shape is a
 * plugin's, so that a source could later come from a package of its own; nothing loads one yet.
 */

/** A connection's zod schema: a strict object whose `type` names its source. */
export type ConnectionSchema = z.ZodObject<{ type: z.ZodLiteral<string> }, z.core.$strict>;

/** What every connection shows besides its settings: the store's fields, and whether a password is stored. */
export const storedConnection = {
  connectionId: z.string(),
  passwordSet: z.boolean().describe('Whether a password is stored; the password itself is never shown'),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
};

/** What a probe found: the server's version (null for a dump) and what the user can see there. */
export interface Probed {
  serverVersion: string | null;
  details: Record<string, string | number>;
}

/** Whose connection it is, and MetaSync's own bucket: what a rule on where a source may be needs. */
export interface SourceScope {
  tenant: string;
  bucket: string;
}

/** A setting the tenant may not use: which field, and what to do instead. */
export interface SettingProblem {
  field: string;
  message: string;
}

/** How the starters' --source names a source. */
export interface UriForm {
  /** Its URI schemes, without "://". */
  schemes: readonly string[];
  /** As --source's help shows them. */
  examples: readonly string[];
  /** A server's: the user's password is asked apart, and never part of the URI. */
  password: boolean;
  /**
   * The URI as a connection input (the config schema names what is wrong in it) and, for a server, who logs in
   * (user@host:port) for the password's prompt. Throws for a server URI that is no URL, without repeating it.
   */
  parse(uri: string): { input: Record<string, unknown>; login?: string };
}

/** How OpenLineage names the source's tables (its naming conventions), so a run's edges meet the ingested assets. */
export interface OpenLineageNaming {
  /** The schemes of a dataset namespace, scheme://host:port, without ":". */
  schemes: readonly string[];
  /** The port a namespace without one means. */
  defaultPort: number;
  /** How many names come before the table's in a dataset name: 2 for database.schema.table, 1 for database.table. */
  containers: number;
}

export interface SourcePlugin<
  Config extends ConnectionSchema = ConnectionSchema,
  View extends ConnectionSchema = ConnectionSchema,
  Body extends ConnectionSchema = ConnectionSchema,
> {
  readonly type: z.infer<Config>['type'];
  /** How to reach the source. Strict: a misspelt field (`schema` for `schemas`) is an error naming it. */
  readonly config: Config;
  /** The config's secret fields: sealed at rest, never shown, masked out of messages. */
  readonly secrets: readonly string[];
  /**
   * A stored connection as it may be shown: the config without its secrets, with `storedConnection`'s fields and,
   * for each secret but the password, a `<field>Set` flag.
   */
  readonly view: View;
  /** The API's PUT body: the config, with secrets that may be left out to keep the stored ones. */
  readonly body: Body;
  /**
   * The connection a PUT body asks for, each secret it leaves out kept from `stored` (the stored connection, when
   * it is of this type; read only if needed), or why it cannot be had.
   */
  fromBody(
    body: z.infer<Body>,
    stored: () => Promise<z.infer<Config> | undefined>,
    connectionId: string,
  ): Promise<z.input<Config> | { problem: string }>;
  /** Why the tenant may not use this connection (checked when saved over the API, tested and ingested). */
  problem?(config: z.infer<Config>, scope: SourceScope): SettingProblem | undefined;
  extractor(config: z.infer<Config>, deps: ExtractorDeps): Extractor;
  /** Connects as an extraction does, and says what answered; throws what the driver threw. */
  probe(config: z.infer<Config>, deps: ExtractorDeps): Promise<Probed>;
  readonly failure: FailureWording<z.infer<Config>>;
  /** Where a connection goes, on one line, never a secret. */
  summary(view: z.infer<View>): string;
  readonly uri?: UriForm;
  readonly openLineage?: OpenLineageNaming;
}
