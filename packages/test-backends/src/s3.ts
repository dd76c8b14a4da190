import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';
import { freePorts, hermeticEnv, httpStatus, makeWorkDir, ManagedProcess } from './process.js';
import type { S3Handle, S3Options } from './types.js';

/**
 * Starts S3-compatible storage (gofakes3, MIT; MinIO is AGPL and not used) on a free loopback
 * port and waits until it lists buckets. Buckets are created on first use (`-autobucket`).
 * Use path-style addressing: `new S3Client(s3.clientConfig)`.
 */
export async function startS3(opts: S3Options = {}): Promise<S3Handle> {
  const bin = await requireBinary('s3');
  const [port] = (await freePorts(1)) as [number];
  const host = '127.0.0.1';
  const workDir = makeWorkDir('s3');
  const args = ['-host', `${host}:${port}`, '-autobucket'];
  if ((opts.backend ?? 'memory') === 'fs') {
    const dataDir = join(workDir, 'data');
    mkdirSync(dataDir, { recursive: true });
    args.push('-backend', 'fs', '-fs.path', dataDir, '-fs.create');
  } else {
    args.push('-backend', 'memory');
  }
  if (opts.initialBucket) args.push('-initialbucket', opts.initialBucket);
  const endpoint = `http://${host}:${port}`;
  const proc = new ManagedProcess({
    label: 'gofakes3',
    command: bin,
    args,
    env: hermeticEnv({}),
    workDir,
    isReady: async () => (await httpStatus(`${endpoint}/`)) === 200,
    readyTimeoutMs: opts.readyTimeoutMs ?? 15_000,
    stopGraceMs: 3000,
  });
  await proc.start();
  const region = 'us-east-1';
  const accessKeyId = 'voicetrace-test';
  const secretAccessKey = 'voicetrace-test-secret';
  return Object.assign(proc, {
    port,
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    clientConfig: { endpoint, region, forcePathStyle: true as const, credentials: { accessKeyId, secretAccessKey } },
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_S3_FORCE_PATH_STYLE: 'true',
    },
  });
}
