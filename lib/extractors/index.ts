/** The sources MetaSync reads (see registry.ts): what the rest of MetaSync uses of them. */
export { checkConnection, ConnectionCheck, type ConnectionCheckDeps } from './connectionCheck.js';
export { errorMessage, ExtractionError, ExtractionErrorCode } from './errors.js';
export type { Extracted, Extractor, ExtractorDeps, Rejected } from './extractor.js';
export {
  connectionFromBody,
  connectionProblem,
  connectionSummary,
  createExtractor,
  parseSourceConnection,
  PASSWORD_URI_SCHEMES,
  secretsOf,
  SOURCE_TYPE_LIST,
  SOURCE_URI_EXAMPLES,
  sourceBodies,
  SourceConnection,
  sourceFromUri,
  uriForm,
  type ConnectionBody,
  type SourceConnectionInput,
} from './registry.js';
