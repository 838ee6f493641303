import { z } from 'zod';

/**
 * What MetaSync accepts as text and JSON from outside, whatever the contract: every string (and object key) is valid
 * Unicode without NUL, and documents nest at most MAX_JSON_DEPTH levels. PostgreSQL refuses NUL in text and jsonb,
 * and unpaired surrogates in jsonb; Kafka, S3 and Cassandra carry UTF-8, where an unpaired surrogate cannot be written
 * at all; and a document nested 100,000 levels deep overflows the stack of whatever walks it recursively
 * (JSON.stringify, zod). So these are checked once, where bytes become values: the API's requests (api/server.ts),
 * the bodies the API reads itself (the webhook, OpenLineage) and every Kafka message a consumer decodes.
 */

/** Deeper than any contract MetaSync reads (an OpenLineage facet is a handful of levels), far below a stack's reach. */
export const MAX_JSON_DEPTH = 64;

export interface InputProblem {
  /** Where, as `payload.tables[2].name`; empty for the document itself. */
  path: string;
  problem: string;
}

export const NUL_PROBLEM = 'contains a NUL character (U+0000), which MetaSync does not store: remove it';
export const SURROGATE_PROBLEM =
  'contains an unpaired UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair), which is not Unicode text: send valid UTF-8';
export const depthProblem = (maxDepth: number) =>
  `nests deeper than ${maxDepth} levels, the most MetaSync reads: flatten it`;

/** A NUL, or a surrogate that is not half of a pair (with the u flag, a proper pair is one code point, not Cs). */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSAFE_CHARACTER = /[\u0000\p{Cs}]/u;

/** Why a string may not be stored, or undefined when it may. */
export function textProblem(text: string): string | undefined {
  const found = UNSAFE_CHARACTER.exec(text);
  if (!found) return undefined;
  return found[0] === '\u0000' ? NUL_PROBLEM : SURROGATE_PROBLEM;
}

const MAX_PATH_CHARS = 200;

function pathText(path: readonly (string | number)[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += (text ? '.' : '') + (textProblem(segment) ? '<key>' : segment.slice(0, 64));
  }
  return text.length > MAX_PATH_CHARS ? `${text.slice(0, MAX_PATH_CHARS)}…` : text;
}

/**
 * The first string, key or nesting level of a parsed JSON value that MetaSync does not accept, or undefined. It walks
 * with its own stack, so a document of any depth is refused rather than overflowing this function too.
 */
export function findInputProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): InputProblem | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value: current, path } = next;
    if (typeof current === 'string') {
      const problem = textProblem(current);
      if (problem) return { path: pathText(path), problem };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    if (path.length >= maxDepth) return { path: pathText(path), problem: depthProblem(maxDepth) };
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) {
        stack.push({ value: current[index], path: [...path, index] });
      }
      continue;
    }
    const entries = Object.entries(current as Record<string, unknown>);
    for (let index = entries.length - 1; index >= 0; index--) {
      const [key, child] = entries[index]!;
      const problem = textProblem(key);
      if (problem) return { path: pathText(path), problem: `has a key that ${problem}` };
      stack.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

/** Text safe to log, archive as S3 metadata or answer with: what findInputProblem refuses becomes U+FFFD. */
export const printable = (text: string): string => text.replace(new RegExp(UNSAFE_CHARACTER, 'gu'), '\uFFFD');

/** "where: what", the way every MetaSync error names a field. */
export const describeProblem = ({ path, problem }: InputProblem): string => (path ? `${path}: ${problem}` : problem);

export type ParsedJson = { ok: true; value: unknown } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bytes from outside (a Kafka message, a body the API reads itself) as JSON MetaSync accepts, or why they are not:
 * invalid UTF-8 (decoded leniently it would silently become U+FFFD), malformed JSON, or a problem findInputProblem
 * names. V8's JSON.parse does not recurse, so even a document nested far too deep parses, and is then refused here.
 */
export function parseJsonInput(bytes: Buffer | Uint8Array, what: 'body' | 'event' = 'event'): ParsedJson {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'not UTF-8: the bytes are not valid UTF-8 text' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
  const problem = findInputProblem(value);
  return problem ? { ok: false, reason: `invalid ${what}: ${describeProblem(problem)}` } : { ok: true, value };
}

/** How a decoder names what it reads in its reasons: a Kafka message, or a body the API reads itself. */
export interface InputDescription {
  what: 'message' | 'body';
  /** What the bytes should have been, e.g. "a JSON event envelope". */
  expected: string;
  /** More bytes than this are refused unread. */
  maxBytes: number;
}

/** Bytes from outside as JSON MetaSync accepts, or why not: nothing at all, too many, or what parseJsonInput refuses. */
export function readJsonInput(bytes: Buffer | null, input: InputDescription): ParsedJson {
  const { what, expected, maxBytes } = input;
  if (!bytes || bytes.length === 0) return { ok: false, reason: `empty ${what}: expected ${expected}` };
  if (bytes.length > maxBytes) return { ok: false, reason: `oversized ${what}: ${bytes.length} bytes > ${maxBytes}` };
  return parseJsonInput(bytes, what === 'body' ? 'body' : 'event');
}

export type DecodedInput<T> =
  { ok: true; value: T } | { ok: false; reason: string; issues?: readonly z.core.$ZodIssue[] };

/**
 * A value read from outside held to its contract: refused as `${invalid}: <the issues>`, with the issues themselves
 * for an answer that lists them.
 */
export function checkContract<S extends z.ZodType>(
  schema: S,
  value: unknown,
  invalid: string,
): DecodedInput<z.infer<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, reason: `${invalid}: ${z.prettifyError(parsed.error)}`, issues: parsed.error.issues };
}

/** Bytes from outside as a value of `schema` (readJsonInput, then checkContract), or why not. */
export function decodeJsonInput<S extends z.ZodType>(
  schema: S,
  bytes: Buffer | null,
  input: InputDescription & { invalid?: string },
): DecodedInput<z.infer<S>> {
  const json = readJsonInput(bytes, input);
  return json.ok ? checkContract(schema, json.value, input.invalid ?? 'invalid event') : json;
}
