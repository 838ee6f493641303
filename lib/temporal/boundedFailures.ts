import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { bounded, maskSecrets } from '../platform/redact.js';

/**
 * Every activity failure leaves the worker twice: into the workflow history and into the worker's log. Whatever an
 * activity throws, its message, stack and details are bounded here (Temporal replaces a failure over its size limit
 * with "Failure exceeds size limit", and the reason is lost) and the worker's own secrets are masked in them.
 */

const MESSAGE_CHARS = 4_000;
const STACK_CHARS = 6_000;
const DETAILS_CHARS = 4_000;
/** Causes are bounded too, down to this depth; deeper ones are cut off. */
const CAUSES = 4;

/** Details as JSON with the secrets masked, or a note of their size when they are too large to keep. */
function boundDetails(details: unknown[], secrets: readonly string[]): unknown[] {
  try {
    const text = maskSecrets(JSON.stringify(details), secrets);
    if (text.length <= DETAILS_CHARS) return JSON.parse(text) as unknown[];
    return [`details of ${text.length} characters left out`];
  } catch {
    return ['details left out: they are not JSON'];
  }
}

function boundError(error: unknown, secrets: readonly string[], depth = 0): unknown {
  if (!(error instanceof Error) || error instanceof CancelledFailure) return error;
  const original = error.message;
  const message = bounded(maskSecrets(original, secrets), MESSAGE_CHARS);
  // In place, so the error keeps its class, type and retry settings (an ApplicationFailure's nonRetryable).
  const fields = error as Error & { details?: unknown[] };
  fields.message = message;
  if (error.stack) fields.stack = bounded(maskSecrets(error.stack.replace(original, message), secrets), STACK_CHARS);
  if (Array.isArray(fields.details)) fields.details = boundDetails(fields.details, secrets);
  if (error.cause !== undefined) error.cause = depth < CAUSES ? boundError(error.cause, secrets, depth + 1) : undefined;
  return error;
}

/** The interceptor, for Worker.create({ interceptors: { activity: [...] } }); `secrets` are masked wherever seen. */
export const boundedFailures =
  (secrets: readonly string[]): ActivityInterceptorsFactory =>
  () => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (error) {
          throw boundError(error, secrets);
        }
      },
    },
  });
