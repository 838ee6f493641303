import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';

/** Small, streaming helpers over one bucket: what the activities need of S3, and no more. */
export function objectStore(s3: S3Client, bucket: string) {
  return {
    async *list(prefix: string): AsyncGenerator<string> {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key) yield object.Key;
        token = page.NextContinuationToken;
      } while (token);
    },

    /** Lines of a gzipped NDJSON object, streamed: memory stays flat whatever its size. */
    async *lines(key: string): AsyncGenerator<string> {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const lines = createInterface({ input: (object.Body as Readable).pipe(createGunzip()), crlfDelay: Infinity });
      for await (const line of lines) if (line.length > 0) yield line;
    },

    async putNdjsonGz(key: string, lines: string[]): Promise<void> {
      const body = gzipSync(lines.length ? lines.join('\n') + '\n' : '');
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/x-ndjson' }),
      );
    },

    async putJson(key: string, value: unknown): Promise<void> {
      const body = JSON.stringify(value, null, 2);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    },

    /** The parsed object, or undefined when there is none. */
    async getJson(key: string): Promise<unknown> {
      const text = await this.getText(key);
      return text === undefined ? undefined : (JSON.parse(text) as unknown);
    },

    /** The object's bytes as text, or undefined when there is none. */
    async getText(key: string): Promise<string | undefined> {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await object.Body!.transformToString('utf8');
      } catch (error) {
        if (error instanceof NoSuchKey) return undefined;
        throw error;
      }
    },

    /** Copies an object within the bucket, on the server: nothing passes through this process. */
    async copy(from: string, to: string): Promise<void> {
      const source = `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
      await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: source }));
    },

    async exists(key: string): Promise<boolean> {
      for await (const found of this.list(key)) if (found === key) return true;
      return false;
    },

    async deletePrefix(prefix: string): Promise<number> {
      let batch: string[] = [];
      let deleted = 0;
      const flush = async () => {
        if (!batch.length) return;
        await s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        deleted += batch.length;
        batch = [];
      };
      for await (const key of this.list(prefix)) {
        batch.push(key);
        if (batch.length === 1000) await flush();
      }
      await flush();
      return deleted;
    },
  };
}
export type ObjectStore = ReturnType<typeof objectStore>;
