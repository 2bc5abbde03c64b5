/**
 * The real curl binary dialling an ingress directly over TLS, as a stranger
 * to the mesh would (no egress in between): with or without a client
 * certificate, never checking the server's (`-k`: it names no host). A
 * refused handshake is an outcome to assert on, so a failing curl resolves
 * with its exit code rather than rejecting.
 *
 * @module
 */
import { runProcess } from '../../../support/run-process.js';
import type { CertFiles } from './openssl.js';

/** How a direct call ended. */
export interface CurlTlsOutcome {
  /** curl's exit code: 0, or why it failed (35: handshake, 56: receive, 52: empty reply...). */
  readonly exitCode: number | null;
  /** `%{http_code}`: 0 when no HTTP answer came. */
  readonly status: number;
  readonly stderr: string;
}

/** `curl -sS -k [--cert --key] <extra args> https://<address><path>`. */
export async function curlTls(
  address: string,
  path: string,
  client?: CertFiles,
  ...extra: string[]
): Promise<CurlTlsOutcome> {
  const args = ['-sS', '-k', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}'];
  if (client) args.push('--cert', client.certPath, '--key', client.keyPath);
  args.push(...extra, `https://${address}${path}`);
  const { code, stdout, stderr } = await runProcess('curl', args);
  return { exitCode: code, status: Number(stdout.trim() || 0), stderr };
}
