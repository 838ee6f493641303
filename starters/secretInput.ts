import password from '@inquirer/password';
import { readFileSync, statSync } from 'node:fs';

/**
 * Secrets a starter needs (a source's password, a webhook secret) never come from its arguments: a command line is
 * readable by every user of the machine (ps, /proc) and kept in shell histories. They come from an environment
 * variable, a file only its owner may read, or a prompt that does not echo, when stdin is a terminal.
 */

export class SecretInputError extends Error {}

/** The message for a secret found on the command line; it never repeats the secret. */
export const secretOnCommandLine = (what: string, env: string, fileOption: string, prompt = 'at the prompt') =>
  `${what} is on the command line, where every user of this machine can read it (ps) and your shell keeps it: ` +
  `leave it out and give it as ${env}=..., as ${fileOption} <path> (a file only you may read), or ${prompt}`;

/** A secret file's contents without the final newline; refused when others may read the file. */
export function readSecretFile(path: string, option: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new SecretInputError(`${option}: cannot read ${path}: no such file`);
  }
  if ((mode & 0o077) !== 0) throw new SecretInputError(`${option}: ${path} is readable by others: chmod 600 it`);
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

export interface SecretSources {
  /** The variable that may hold it, e.g. METASYNC_SOURCE_PASSWORD. */
  env: string;
  /** The path given with the file option, and that option's name (for messages). */
  file?: string;
  fileOption: string;
  /** What to ask at the prompt; no prompt when undefined or when stdin is not a terminal. */
  prompt?: string;
}

/** The secret from the file, else the environment, else the prompt; undefined when none of them gives one. */
export async function readSecret(sources: SecretSources, env: NodeJS.ProcessEnv = process.env) {
  if (sources.file !== undefined) return readSecretFile(sources.file, sources.fileOption);
  const fromEnv = env[sources.env];
  if (fromEnv !== undefined) return fromEnv;
  if (sources.prompt === undefined || !process.stdin.isTTY) return undefined;
  return password({ message: sources.prompt, mask: false });
}
