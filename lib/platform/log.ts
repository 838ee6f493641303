/** Structured log lines (one JSON object each) on stderr, so stdout stays for what a command prints to its user. */
type Fields = Record<string, unknown>;

function write(level: 'info' | 'warn' | 'error', message: string, fields: Fields = {}): void {
  process.stderr.write(JSON.stringify({ at: new Date().toISOString(), level, message, ...fields }) + '\n');
}

export const log = {
  info: (message: string, fields?: Fields) => write('info', message, fields),
  warn: (message: string, fields?: Fields) => write('warn', message, fields),
  error: (message: string, fields?: Fields) => write('error', message, fields),
};
