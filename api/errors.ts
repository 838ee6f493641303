import type { FastifyReply } from 'fastify';

/** Every error answer has one shape, so a caller (Monte Carlo, a script, a person) always finds the reason. */
export interface ErrorBody {
  error: string;
}

export const sendError = (reply: FastifyReply, status: number, error: string): FastifyReply =>
  reply.code(status).send({ error } satisfies ErrorBody);

export interface ErrorAnswer {
  status: number;
  error: string;
  /** A server-side fault: logged with its stack, while the caller gets no internals. */
  internal: boolean;
}

/**
 * What to answer for an error thrown by Fastify itself (body parsing, URL decoding) or by a handler. Fastify's own
 * messages ("Request body is too large") say what but not what to do, so the common ones are reworded.
 */
export function errorAnswer(error: unknown, bodyLimit: number, requestId: string): ErrorAnswer {
  const { code, statusCode, message } = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        error: `the body is larger than ${bodyLimit} bytes, the most MetaSync accepts (METASYNC_MAX_MESSAGE_BYTES, the Kafka message limit)`,
        internal: false,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, error: 'unsupported Content-Type: send the body as application/json', internal: false };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, error: 'malformed JSON: the body does not parse; send one JSON object', internal: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, error: 'the body is empty: send one JSON object', internal: false };
    case 'FST_ERR_BAD_URL':
      return {
        status: 400,
        error: 'the URL has a malformed percent-encoding: encode each path segment with encodeURIComponent',
        internal: false,
      };
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, error: typeof message === 'string' ? message : 'bad request', internal: false };
  }
  return {
    status: 500,
    error: `internal error (request ${requestId}): retry later, and report it with the request id if it persists`,
    internal: true,
  };
}
