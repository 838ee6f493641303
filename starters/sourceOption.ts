import { PASSWORD_URI_SCHEMES, SOURCE_URI_EXAMPLES, sourceFromUri, uriForm } from '../lib/extractors/index.js';
import { readSecret, SecretInputError, secretOnCommandLine } from './secretInput.js';

/** How the starters that register a source (ingest, connection add) describe --source and its password. */
export const SOURCE_OPTION_HELP = `${SOURCE_URI_EXAMPLES}; the password is never part of it: METASYNC_SOURCE_PASSWORD, --password-file, or the prompt`;
export const PASSWORD_FILE_HELP = "a file holding the source's password (readable by you only)";
export const SOURCE_PASSWORD_ENV = 'METASYNC_SOURCE_PASSWORD';

/**
 * A --source URI as a SourceConnection input (parse it with SourceConnection), its password read from a file, the
 * environment or a prompt. A URI that carries a password is refused without repeating it. A server with no password
 * anywhere (and no terminal to ask on) gets the empty one, as a URI without a password always meant.
 */
export async function sourceFromOptions(uri: string, passwordFile: string | undefined): Promise<unknown> {
  const server = uriForm(uri)?.password === true;
  if (server && URL.canParse(uri) && new URL(uri).password !== '') {
    throw new SecretInputError(secretOnCommandLine('the password in --source', SOURCE_PASSWORD_ENV, '--password-file'));
  }
  if (!server) {
    if (passwordFile !== undefined)
      throw new SecretInputError(`--password-file is for ${PASSWORD_URI_SCHEMES} sources`);
    return sourceFromUri(uri).input;
  }
  const { input, login } = sourceFromUri(uri);
  const password = await readSecret({
    env: SOURCE_PASSWORD_ENV,
    file: passwordFile,
    fileOption: '--password-file',
    prompt: `password of ${login} (empty for none)`,
  });
  return { ...input, password: password ?? '' };
}
