import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorAnswer } from '../../api/errors.js';

describe('API error answers', () => {
  const answer = (error: unknown) => errorAnswer(error, 65536, 'request-1');

  it('rewords the framework errors a caller can fix', () => {
    assert.deepEqual(answer({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), {
      status: 413,
      error:
        'the body is larger than 65536 bytes, the most MetaSync accepts (METASYNC_MAX_MESSAGE_BYTES, the Kafka message limit)',
      internal: false,
    });
    assert.equal(answer({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }).status, 415);
    assert.match(answer({ code: 'FST_ERR_BAD_URL', statusCode: 400 }).error, /encodeURIComponent/);
  });

  it('passes other client errors through and hides server faults behind the request id', () => {
    assert.deepEqual(answer({ statusCode: 400, message: 'Request body size did not match Content-Length' }), {
      status: 400,
      error: 'Request body size did not match Content-Length',
      internal: false,
    });
    const fault = answer(new Error('connection terminated: password for user metasync'));
    assert.equal(fault.status, 500);
    assert.equal(fault.internal, true);
    assert.match(fault.error, /request request-1/);
    assert.doesNotMatch(fault.error, /password/);
  });
});
