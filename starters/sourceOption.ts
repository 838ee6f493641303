import { sourceFromUri } from '../lib/extractors/sourceConnection.js';
import { readSecret, SecretInputError, secretOnCommandLine } from './secretInput.js';

/** How the starters that register a source (ingest, connection add) describe --source and its password. */
export const SOURCE_OPTION_HELP =
  'postgres://user@host:port/db, mysql://user@host:port, s3://bucket/key.ndjson[.gz] or file:///path; the password is never part of it: METASYNC_SOURCE_PASSWORD, --password-file, or the prompt';
export const PASSWORD_FILE_HELP = "a file holding the source's password (readable by you only)";
export const SOURCE_PASSWORD_ENV = 'METASYNC_SOURCE_PASSWORD';

const SERVER_URI = /^(postgres|postgresql|mysql):/i;

/**
 * A --source URI as a SourceConnection input (parse it with SourceConnection), its password read from a file, the
 * environment or a prompt. A URI that carries a password is refused without repeating it. A server with no password
 * anywhere (and no terminal to ask on) gets the empty one, as a URI without a password always meant.
 */
export async function sourceFromOptions(uri: string, passwordFile: string | undefined): Promise<unknown> {
  const server = SERVER_URI.test(uri);
  if (server && URL.canParse(uri) && new URL(uri).password !== '') {
    throw new SecretInputError(secretOnCommandLine('the password in --source', SOURCE_PASSWORD_ENV, '--password-file'));
  }
  if (!server) {
    if (passwordFile !== undefined)
      throw new SecretInputError('--password-file is for postgres:// and mysql:// sources');
    return sourceFromUri(uri);
  }
  const source = sourceFromUri(uri) as { user: string; host: string; port: number };
  const password = await readSecret({
    env: SOURCE_PASSWORD_ENV,
    file: passwordFile,
    fileOption: '--password-file',
    prompt: `password of ${source.user}@${source.host}:${source.port} (empty for none)`,
  });
  return { ...source, password: password ?? '' };
}
