import type { SourcePlugin } from '../source.js';
import { keepPassword, serverUri } from '../server.js';
import { createPostgresExtractor } from './catalog.js';
import { PostgresBody, PostgresConnection, PostgresView } from './connection.js';
import { postgresFailure } from './failure.js';
import { probePostgres } from './probe.js';

/** PostgreSQL as a source: one database's catalog, read from pg_catalog in one snapshot. */
export const postgresSource: SourcePlugin<typeof PostgresConnection, typeof PostgresView, typeof PostgresBody> = {
  type: 'postgres',
  config: PostgresConnection,
  secrets: ['password'],
  view: PostgresView,
  body: PostgresBody,
  fromBody: keepPassword,
  extractor: createPostgresExtractor,
  probe: probePostgres,
  failure: postgresFailure,
  summary: (view) =>
    `postgres ${view.user}@${view.host}:${view.port}/${view.database}${view.schemas ? ` schemas ${view.schemas.join(',')}` : ''}`,
  uri: {
    schemes: ['postgres', 'postgresql'],
    examples: ['postgres://user@host:port/db'],
    password: true,
    parse(uri) {
      const { server, path, login } = serverUri(uri, 5432);
      return { input: { type: 'postgres', ...server, database: path.slice(1) }, login };
    },
  },
  openLineage: { schemes: ['postgres', 'postgresql'], defaultPort: 5432, containers: 2 },
};
