/**
 * moto 5 (`moto_server`, on this machine's PATH) as a child process on a
 * free loopback port: real S3, KMS, EventBridge, SQS, STS, EC2, ECS and
 * Resource Groups Tagging APIs for tests that drive the real AWS SDK. One
 * server per test file; {@link Moto.reset} empties every service between tests.
 *
 * What moto cannot do, and the tests that meet it say so where they work
 * around it: EventBridge delivers only to SQS, CloudWatch Logs and other
 * buses (a test reads the delivered event from an SQS target); KMS signs
 * `MessageType: RAW` only (no DIGEST); tagging `GetResources` needs
 * `ResourceTypeFilters`.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from './free-port.js';

/** Region and static credentials every client of the emulator uses. */
export const MOTO_REGION = 'us-east-1';
/** moto's default account id, which it puts in every ARN. */
export const MOTO_ACCOUNT = '123456789012';

export interface Moto {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** What every AWS SDK v3 client constructor takes to talk to this server. */
  readonly clientConfig: {
    readonly endpoint: string;
    readonly region: string;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
    /** S3: bucket in the path, not in a hostname that does not resolve here. */
    readonly forcePathStyle: true;
    readonly maxAttempts: 1;
  };
  /** Empties every service (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /** Kills the process and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `moto_server` and resolves once it answers.
 *
 * @throws Error saying how to install moto when `moto_server` is not on the PATH.
 * @example
 * const moto = await startMoto();
 * afterAll(() => moto.stop());
 * const s3 = new S3Client(moto.clientConfig);
 */
export async function startMoto(): Promise<Moto> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // The SDK inside moto must not look for real credentials or a real region.
      env: { ...process.env, AWS_DEFAULT_REGION: MOTO_REGION, MOTO_ALLOW_NONEXISTENT_REGION: 'true' },
    });
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await answering(child, endpoint);
    } catch (error) {
      if (attempt < 3 && /EADDRINUSE|Address already in use/.test(String(error))) continue;
      throw error;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      endpoint,
      clientConfig: {
        endpoint,
        region: MOTO_REGION,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        forcePathStyle: true,
        maxAttempts: 1,
      },
      async reset() {
        const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
        if (!res.ok) throw new Error(`moto reset answered ${res.status}`);
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  }
}

async function answering(child: ChildProcess, endpoint: string): Promise<void> {
  let output = '';
  let failure: Error | undefined;
  child.stderr?.on('data', (chunk: Buffer) => {
    // moto logs every request on stderr; keep only the start for an error message.
    if (output.length < 8192) output += chunk;
  });
  child.once('error', (error: NodeJS.ErrnoException) => {
    failure =
      error.code === 'ENOENT'
        ? new Error('moto_server is not on the PATH: install moto 5 (pip install "moto[server]")')
        : error;
  });
  child.once('exit', (code, signal) => {
    failure ??= new Error(`moto_server exited (${signal ?? code}) before it answered:\n${output}`);
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`moto_server did not answer within 30 s:\n${output}`);
}
