/**
 * Temporal wraps a failure in each layer it crossed (workflow, child, activity); the innermost one says what
 * happened, and its type (e.g. ExtractionError:authentication) what kind of thing. Pure, so workflows use it too.
 */
export function rootCause(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  if (!(current instanceof Error)) return String(current);
  const type = (current as { type?: unknown }).type;
  return typeof type === 'string' && type !== '' ? `${type}: ${current.message}` : current.message;
}
