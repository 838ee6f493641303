import type { SourceType } from '../ingest/contracts.js';
import type { Extractor, ExtractorDeps } from './extractor.js';
import { createMysqlExtractor } from './mysql.js';
import { createNdjsonExtractor } from './ndjson.js';
import { createPostgresExtractor } from './postgres.js';
import { parseSourceConnection, type SourceConnection, type SourceConnectionInput } from './sourceConnection.js';

export { ExtractionError, ExtractionErrorCode } from './errors.js';
export type { Extracted, Extractor, ExtractorDeps, Rejected } from './extractor.js';
export { SourceConnection, parseSourceConnection, type SourceConnectionInput } from './sourceConnection.js';

type ConnectionOf = { [C in SourceConnection as C['type']]: C };
type Factories = { [T in SourceType]: (source: ConnectionOf[T], deps: ExtractorDeps) => Extractor };

/**
 * The extractor of each source type. A new source is its connection shape in sourceConnection.ts, its type in
 * the contracts' SourceType, one file here, and one line below; the compiler points at any of them left out.
 */
const factories: Factories = {
  postgres: createPostgresExtractor,
  mysql: createMysqlExtractor,
  ndjson: createNdjsonExtractor,
};

/** Validates the source (an 'invalid_source' ExtractionError names every wrong field) and makes its extractor. */
export function createExtractor(source: SourceConnectionInput, deps: ExtractorDeps): Extractor {
  const parsed = parseSourceConnection(source);
  return create(parsed.type, parsed, deps);
}

function create<T extends SourceType>(type: T, source: ConnectionOf[T], deps: ExtractorDeps): Extractor {
  return factories[type](source, deps);
}
