import { z } from 'zod';
import type { SourceType } from '../ingest/contracts.js';
import { ExtractionError, sourceFailure, zodIssues, type FailureWording } from './errors.js';
import type { Extractor, ExtractorDeps } from './extractor.js';
import { mysqlSource } from './mysql/index.js';
import { ndjsonSource } from './ndjson/index.js';
import { postgresSource } from './postgres/index.js';
import type { OpenLineageNaming, Probed, SettingProblem, SourceScope, UriForm } from './source.js';

/**
 * The sources MetaSync reads, one line each: a new source is its folder (lib/extractors/<type>/, exporting a
 * SourcePlugin) and one line here. Everything that lists sources is built from this list: the connection union,
 * the API's bodies and views, the secret fields, the URI forms, OpenLineage's naming. The compiler checks that the
 * list and the contracts' SourceType name the same sources.
 */
export const SOURCES = [postgresSource, mysqlSource, ndjsonSource] as const;

type Sources = typeof SOURCES;
type Plugin = Sources[number];
type ByType = { [P in Plugin as P['type']]: P };
type Type = keyof ByType;

// Fails to compile when the list and the contracts' SourceType (mapping rules, manifests) name different sources.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const registryNamesEverySourceType: Same<Type, SourceType> = true;

const byType = Object.fromEntries(SOURCES.map((source) => [source.type, source])) as unknown as ByType;

// zod's unions want tuples of schemas: these keep the registry's order and each member's own type.
type Pluck<List extends readonly unknown[], K extends PropertyKey> = {
  -readonly [I in keyof List]: List[I] extends Record<K, infer Value> ? Value : never;
};
const field = <K extends 'config' | 'view' | 'body'>(key: K) =>
  SOURCES.map((source) => source[key]) as unknown as Pluck<Sources, K>;

/**
 * How to reach a source, one shape per source type. Strict objects: a misspelt field (`schema` for `schemas`)
 * is an error naming it, not a setting silently ignored.
 */
export const SourceConnection = z.discriminatedUnion('type', field('config'));
export type SourceConnection = z.infer<typeof SourceConnection>;
/** What callers write: defaulted fields (ports, time-outs) may be left out. */
export type SourceConnectionInput = z.input<typeof SourceConnection>;

/** The API's PUT bodies, one per source: the connection, with secrets that may be left out to keep the stored ones. */
export const sourceBodies = field('body');
export type ConnectionBody = z.infer<(typeof sourceBodies)[number]>;

/** Each source's stored connection as it may be shown (see SourcePlugin.view). */
export const sourceViews = field('view');
type SourceView = z.infer<(typeof sourceViews)[number]>;

/** Every source's secret fields: sealed before they reach PostgreSQL, opened only where a source is read. */
export const SECRET_FIELDS = [...new Set(SOURCES.flatMap((source) => source.secrets))];

/** The secret fields of a source type; none for a type no source has. */
export const secretsOf = (type: unknown): readonly string[] =>
  SOURCES.find((source) => source.type === type)?.secrets ?? [];

/** Validates a source connection; throws an 'invalid_source' ExtractionError naming every wrong field. */
export function parseSourceConnection(input: unknown): SourceConnection {
  const parsed = SourceConnection.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ExtractionError('invalid_source', `the source connection is invalid: ${zodIssues(parsed.error)}`);
}

// Each function below hands one connection to its own source's plugin. TypeScript sees the plugin and the
// connection of one type `T` as belonging together only through these mapped types.
type ConfigOf = { [T in Type]: z.infer<ByType[T]['config']> };
type BodyOf = { [T in Type]: z.infer<ByType[T]['body']> };
type ViewOf = { [T in Type]: z.infer<ByType[T]['view']> };
type InputOf = { [T in Type]: z.input<ByType[T]['config']> };
interface Behaviour<Config, Input, Body, View> {
  fromBody(
    body: Body,
    stored: () => Promise<Config | undefined>,
    connectionId: string,
  ): Promise<Input | { problem: string }>;
  problem?(config: Config, scope: SourceScope): SettingProblem | undefined;
  extractor(config: Config, deps: ExtractorDeps): Extractor;
  probe(config: Config, deps: ExtractorDeps): Promise<Probed>;
  failure: FailureWording<Config>;
  summary(view: View): string;
}
const behaviour: { [T in Type]: Behaviour<ConfigOf[T], InputOf[T], BodyOf[T], ViewOf[T]> } = byType;

/** Validates the source (an 'invalid_source' ExtractionError names every wrong field) and makes its extractor. */
export function createExtractor(input: SourceConnectionInput, deps: ExtractorDeps): Extractor {
  const source = parseSourceConnection(input);
  return extractorOf(source.type, source, deps);
}
function extractorOf<T extends Type>(type: T, source: ConfigOf[T], deps: ExtractorDeps): Extractor {
  return behaviour[type].extractor(source, deps);
}

/** Connects to the source as an extraction does and says what answered; throws what the driver threw. */
export function probeSource(source: SourceConnection, deps: ExtractorDeps): Promise<Probed> {
  return probeOf(source.type, source, deps);
}
function probeOf<T extends Type>(type: T, source: ConfigOf[T], deps: ExtractorDeps): Promise<Probed> {
  return behaviour[type].probe(source, deps);
}

/** What a failure to reach the source means, worded as its extractor words it (before a session is established). */
export function connectFailure(source: SourceConnection, error: unknown): ExtractionError {
  return connectFailureOf(source.type, source, error);
}
function connectFailureOf<T extends Type>(type: T, source: ConfigOf[T], error: unknown): ExtractionError {
  return sourceFailure(behaviour[type].failure, source, error, false);
}

/** Why the tenant may not use this connection (when saved over the API, tested and ingested); undefined if it may. */
export function connectionProblem(source: SourceConnection, scope: SourceScope): SettingProblem | undefined {
  return problemOf(source.type, source, scope);
}
function problemOf<T extends Type>(type: T, source: ConfigOf[T], scope: SourceScope): SettingProblem | undefined {
  return behaviour[type].problem?.(source, scope);
}

/** Where a connection goes, on one line, never a secret: "postgres reader@db:5432/sales". */
export function connectionSummary(view: SourceView): string {
  return summaryOf(view.type, view);
}
function summaryOf<T extends Type>(type: T, view: ViewOf[T]): string {
  return behaviour[type].summary(view);
}

/**
 * The connection a PUT body asks for, each secret it leaves out kept from the stored connection (read only if
 * needed, and only of the same type), checked against the tenant's scope; or why it cannot be had, as "field: why".
 */
export async function connectionFromBody(
  body: ConnectionBody,
  stored: () => Promise<SourceConnection | undefined>,
  scope: SourceScope & { connectionId: string },
): Promise<{ source: SourceConnection } | { problem: string }> {
  const given = await fromBodyOf(body.type, body, stored, scope.connectionId);
  if ('problem' in given) return given;
  const source = SourceConnection.parse(given);
  const problem = connectionProblem(source, scope);
  return problem ? { problem: `${problem.field}: ${problem.message}` } : { source };
}
function fromBodyOf<T extends Type>(
  type: T,
  body: BodyOf[T],
  stored: () => Promise<SourceConnection | undefined>,
  connectionId: string,
): Promise<InputOf[T] | { problem: string }> {
  const ofType = async () => {
    const existing = await stored();
    return existing?.type === type ? (existing as ConfigOf[T]) : undefined;
  };
  return behaviour[type].fromBody(body, ofType, connectionId);
}

/**
 * A source given as a URI (postgres://user@host:port/db, mysql://user@host:port, s3://bucket/key or file:///path),
 * as a SourceConnection input (parse it with SourceConnection, which names what is wrong), and for a server, who
 * logs in (user@host:port). Throws for a scheme no source has, and for a server URI that is no URL (without
 * repeating it: it may hold the password).
 */
export function sourceFromUri(uri: string): { input: Record<string, unknown>; login?: string } {
  const form = uriForm(uri);
  if (!form) throw new Error(`expected a URI of ${SOURCE_URI_EXAMPLES}`);
  return form.parse(uri);
}

/** The URI form a URI's scheme names, if any source has it. */
export function uriForm(uri: string): UriForm | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  return SOURCES.find((source) => scheme !== undefined && source.uri?.schemes.includes(scheme))?.uri;
}

const or = (items: readonly string[]) =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
const and = (items: readonly string[]) =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

/** Every URI form, as --source's help lists them: "postgres://user@host:port/db, mysql://…, … or file:///path". */
export const SOURCE_URI_EXAMPLES = or(SOURCES.flatMap((source) => source.uri?.examples ?? []));
/** The URI schemes of the sources whose password is asked apart: "postgres:// and mysql://". */
export const PASSWORD_URI_SCHEMES = and(
  SOURCES.flatMap((source) => (source.uri?.password ? [`${source.uri.schemes[0]}://`] : [])),
);
/** "postgres, mysql or ndjson" */
export const SOURCE_TYPE_LIST = or(SOURCES.map((source) => source.type));

/** The source type whose OpenLineage namespaces have this URL scheme (as URL.protocol gives it, "postgres:"). */
export function openLineageNaming(protocol: string): (OpenLineageNaming & { sourceType: Type }) | undefined {
  const scheme = protocol.replace(/:$/, '');
  for (const source of SOURCES) {
    const naming = source.openLineage;
    if (naming?.schemes.includes(scheme)) return { ...naming, sourceType: source.type };
  }
  return undefined;
}
