/**
 * What leaves a process in words (a failure's reason, a command line shown for debugging) is redacted and bounded
 * here: a secret must never reach a log or a workflow history, and Temporal replaces a failure larger than its blob
 * limit with "Failure exceeds size limit", losing the reason. Pure, so workflows and tests can use it too.
 */

const MASK = '***';

/** Setting names whose values are secrets: s3a's secret.key and access.key, passwords, tokens, credentials. */
const SECRET_NAME = /secret|password|passwd|token|credential|access[._-]?key|private[._-]?key|api[._-]?key/i;

/** user:password@ in a URI: the password goes, the rest stays useful. */
const URI_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^@\s/]*@/gi;

/**
 * A command line as it may be shown: values of settings that name a secret (`--conf x.secret.key=...`,
 * `--password ...`, `--password=...`) and passwords in URIs are masked.
 */
export function redactCommandLine(args: readonly string[]): string[] {
  return args.map((arg, i) => {
    const previous = args[i - 1] ?? '';
    // --password <value>: the value is the argument after a secret-named option.
    const secretOption = /^--?[\w.-]+$/.test(previous) && SECRET_NAME.test(previous) && !/file$/i.test(previous);
    if (secretOption && !arg.startsWith('-')) return MASK;
    const setting = /^([^=\s]+)=(.*)$/s.exec(arg);
    if (setting && SECRET_NAME.test(setting[1]!)) return `${setting[1]}=${MASK}`;
    return arg.replace(URI_PASSWORD, `$1:${MASK}@`);
  });
}

/** Every occurrence of each known secret in a text masked (the ones too short to be told from ordinary text skipped). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text.replace(URI_PASSWORD, `$1:${MASK}@`);
  for (const secret of secrets) if (secret.length >= 6) masked = masked.replaceAll(secret, MASK);
  return masked;
}

/** At most `max` characters, cut in the middle so both the start (what failed) and the end (why) stay. */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = `\n… ${text.length - max} characters left out …\n`;
  const half = Math.floor((max - cut.length) / 2);
  return text.slice(0, half) + cut + text.slice(text.length - half);
}

/** The last `lines` lines of a process's output, each at most `lineMax` characters: enough to say why it ended. */
export function outputTail(output: string, lines: number, lineMax: number): string {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .map((line) => (line.length > lineMax ? `${line.slice(0, lineMax)} …` : line))
    .join('\n');
}
