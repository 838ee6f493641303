import { errorCode, errorMessage, ExtractionError } from '../errors.js';
import { loginRefused, serverBusy, serverFailure } from '../server.js';
import { where, type PostgresConnection } from './connection.js';

/**
 * What a PostgreSQL driver error means to whoever configured the connection, and what to do (errors.ts's
 * sourceFailure is the path both the extractor and the check take). Until a session is established, anything but
 * a PostgreSQL server's own answer reads as one "cannot connect", whatever it was.
 */
export const postgresFailure = serverFailure<PostgresConnection>({
  where,
  // node-postgres says a connection time-out or a dropped connection in words only, without a code.
  unanswered: (error) => /timeout|terminated unexpectedly/i.test(errorMessage(error)) && errorCode(error) === undefined,
  answers(error, source) {
    const because = { cause: error };
    switch (errorCode(error)) {
      case '28P01': // invalid_password
      case '28000': // invalid_authorization_specification: no pg_hba.conf entry, unknown role
        return loginRefused(where(source), source, error);
      case '42501': // insufficient_privilege, e.g. no CONNECT on the database
        return new ExtractionError(
          'permission_denied',
          `${where(source)}: user ${JSON.stringify(source.user)} may not read database ${JSON.stringify(source.database)} (${errorMessage(error)}) — grant it CONNECT on the database`,
          because,
        );
      case '3D000': // invalid_catalog_name
        return new ExtractionError(
          'not_found',
          `${where(source)} has no database ${JSON.stringify(source.database)} — check the database name`,
          because,
        );
      case '57P01': // admin_shutdown
      case '57P02': // crash_shutdown
      case '57P03': // cannot_connect_now: starting up or shutting down
      case '53300': // too_many_connections
        return serverBusy(where(source), error);
      default:
        return undefined;
    }
  },
});
