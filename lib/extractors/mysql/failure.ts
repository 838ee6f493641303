import { errorCode, errorMessage, ExtractionError } from '../errors.js';
import { loginRefused, serverBusy, serverFailure } from '../server.js';
import { where, type MysqlConnection } from './connection.js';

/**
 * What a MySQL driver error means to whoever configured the connection, and what to do (errors.ts's sourceFailure
 * is the path both the extractor and the check take). Until a session is established, anything but a MySQL
 * server's own answer reads as one "cannot connect", whatever it was.
 */
export const mysqlFailure = serverFailure<MysqlConnection>({
  where,
  unanswered: (error) => errorCode(error) === 'PROTOCOL_CONNECTION_LOST',
  answers(error, source) {
    const because = { cause: error };
    switch (errorCode(error)) {
      case 'ER_ACCESS_DENIED_ERROR':
      case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      case 'ER_NOT_SUPPORTED_AUTH_MODE':
        return loginRefused(where(source), source, error);
      case 'ER_HOST_NOT_PRIVILEGED':
        return new ExtractionError(
          'authentication',
          `${where(source)} accepts no user from this host (${errorMessage(error)}) — create the user for this host (user@'%')`,
          because,
        );
      case 'ER_DBACCESS_DENIED_ERROR':
      case 'ER_TABLEACCESS_DENIED_ERROR':
      case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
        // For a user without global privileges, MySQL answers this for a database that does not exist as well.
        return new ExtractionError(
          'permission_denied',
          `${where(source)}: user ${JSON.stringify(source.user)} may not read it (${errorMessage(error)}) — grant it SELECT on the database, or check the name`,
          because,
        );
      case 'ER_BAD_DB_ERROR':
        return new ExtractionError(
          'not_found',
          `${where(source)}: ${errorMessage(error)} — check the source's databases`,
          because,
        );
      case 'ER_CON_COUNT_ERROR':
      case 'ER_SERVER_SHUTDOWN':
        return serverBusy(where(source), error);
      default:
        return undefined;
    }
  },
});
