import type { SourcePlugin } from '../source.js';
import { fromBody, NdjsonBody, NdjsonConnection, NdjsonView } from './connection.js';
import { createNdjsonExtractor } from './dump.js';
import { dumpAccessProblem } from './dumpAccess.js';
import { dumpFailure } from './failure.js';
import { probeDump } from './probe.js';

/** An estate dump as a source: RawRecord lines, from S3 (MetaSync's bucket or the tenant's own) or a local file. */
export const ndjsonSource: SourcePlugin<typeof NdjsonConnection, typeof NdjsonView, typeof NdjsonBody> = {
  type: 'ndjson',
  config: NdjsonConnection,
  secrets: ['secretAccessKey'],
  view: NdjsonView,
  body: NdjsonBody,
  fromBody,
  problem(source, { tenant, bucket }) {
    const message = dumpAccessProblem(source, tenant, bucket);
    return message === undefined ? undefined : { field: 'uri', message };
  },
  extractor: createNdjsonExtractor,
  probe: probeDump,
  failure: dumpFailure,
  summary: (view) => `ndjson ${view.uri}`,
  uri: {
    schemes: ['s3', 'file'],
    examples: ['s3://bucket/key.ndjson[.gz]', 'file:///path'],
    password: false,
    parse: (uri) => ({ input: { type: 'ndjson', uri } }),
  },
};
