import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './harness.js';
import { freePort } from './harness.js';

/**
 * An S3 server that is not MetaSync's: a MinIO of the test's own (the binary stack/services/s3.sh builds), on a free
 * port with credentials of its own, as a tenant's own bucket would be.
 */
export interface TestS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const cache = process.env['METASYNC_CACHE'] ?? join(homedir(), '.cache', 'metasync');
  const dir = mkdtempSync(join(tmpdir(), 'metasync-test-s3-'));
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKeyId = `tenant-${randomBytes(4).toString('hex')}`;
  const secretAccessKey = `tenant-secret-${randomBytes(12).toString('hex')}`;
  const server = execa(
    join(cache, 'bin', 'minio'),
    ['server', dir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
    {
      env: { MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey, MINIO_BROWSER: 'off' },
      reject: false,
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const ready = () =>
    fetch(`${endpoint}/minio/health/ready`).then(
      (response) => (response.ok ? true : undefined),
      () => undefined,
    );
  try {
    await eventually(ready, 30_000, `a MinIO of its own at ${endpoint}`);
  } catch (error) {
    server.kill();
    const { stderr } = await server;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${String(error)}; MinIO said: ${String(stderr)}`, { cause: error });
  }
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    async stop() {
      server.kill();
      await server;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
