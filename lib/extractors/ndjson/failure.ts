import {
  cannotConnect,
  errorCode,
  errorMessage,
  ExtractionError,
  networkFailure,
  type FailureWording,
} from '../errors.js';
import type { NdjsonConnection } from './connection.js';
import { ownBucket } from './dumpAccess.js';

// HeadObject has no body, so S3 names its failures by HTTP status only (NotFound, Forbidden).
const S3_ERRORS: Record<string, [ExtractionError['code'], string]> = {
  NoSuchKey: ['not_found', 'there is no such object — check the key'],
  NotFound: ['not_found', 'there is no such object — check the key'],
  NoSuchBucket: ['not_found', 'there is no such bucket — check the bucket name'],
  AccessDenied: ['permission_denied', 'access denied — grant s3:GetObject on it'],
  Forbidden: ['permission_denied', 'access denied — grant s3:GetObject on it'],
  InvalidAccessKeyId: ['authentication', 'the access key is not known — check the S3 credentials'],
  SignatureDoesNotMatch: ['authentication', 'the secret key is wrong — check the S3 credentials'],
};

const FILE_ERRORS: Record<string, [ExtractionError['code'], string]> = {
  ENOENT: ['not_found', 'there is no such file — check the path'],
  EACCES: ['permission_denied', 'permission denied — make the file readable by MetaSync'],
  EPERM: ['permission_denied', 'permission denied — make the file readable by MetaSync'],
  EISDIR: ['invalid_source', 'it is a directory — name a file'],
  Z_DATA_ERROR: ['invalid_source', 'it is not valid gzip — check the file, or drop .gz from the name if plain'],
  Z_BUF_ERROR: ['invalid_source', 'the gzip stream ends early — the dump is truncated'],
};

/**
 * What reading a dump threw, in words that say what to do (errors.ts's sourceFailure is the path both the extractor
 * and the check take). From a tenant's own S3 endpoint, anything but an S3 server's own answer reads as one "cannot
 * connect", whatever lay behind the endpoint; MetaSync's own bucket and local files say what failed.
 */
export const dumpFailure: FailureWording<NdjsonConnection> = {
  secrets: (source) => [source.secretAccessKey],
  unanswered: (error, source) =>
    new ExtractionError('unreachable', `cannot read ${source.uri}: ${errorMessage(error)}`, { cause: error }),
  known(error, source) {
    const because = { cause: error };
    const known = S3_ERRORS[error instanceof Error ? error.name : ''] ?? FILE_ERRORS[errorCode(error) ?? ''];
    if (known) return new ExtractionError(known[0], `cannot read ${source.uri}: ${known[1]}`, because);
    if (ownBucket(source)) {
      return new ExtractionError('unreachable', cannotConnect(`S3 at ${source.endpoint}`), because);
    }
    const network = networkFailure(error);
    if (network) {
      return new ExtractionError(
        'unreachable',
        `cannot reach S3 for ${source.uri}: ${network} — check the S3 endpoint and that it is running`,
        because,
      );
    }
    return undefined;
  },
};
