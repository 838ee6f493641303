import type { SourcePlugin } from '../source.js';
import { keepPassword, serverUri } from '../server.js';
import { createMysqlExtractor } from './catalog.js';
import { MysqlBody, MysqlConnection, MysqlView } from './connection.js';
import { mysqlFailure } from './failure.js';
import { probeMysql } from './probe.js';

/** MySQL and MariaDB as a source: the catalogs of a server's databases, from information_schema. */
export const mysqlSource: SourcePlugin<typeof MysqlConnection, typeof MysqlView, typeof MysqlBody> = {
  type: 'mysql',
  config: MysqlConnection,
  secrets: ['password'],
  view: MysqlView,
  body: MysqlBody,
  fromBody: keepPassword,
  extractor: createMysqlExtractor,
  probe: probeMysql,
  failure: mysqlFailure,
  summary: (view) =>
    `mysql ${view.user}@${view.host}:${view.port}${view.databases ? ` databases ${view.databases.join(',')}` : ''}`,
  uri: {
    schemes: ['mysql'],
    examples: ['mysql://user@host:port'],
    password: true,
    parse(uri) {
      const { server, login } = serverUri(uri, 3306);
      return { input: { type: 'mysql', ...server }, login };
    },
  },
  openLineage: { schemes: ['mysql'], defaultPort: 3306, containers: 1 },
};
