/**
 * The real curl binary as a workload next to a gateway: `curl -x` through
 * the egress, as `HTTP_PROXY` clients do. Status and content type come from
 * `-w`, the body as text.
 *
 * @module
 */
import { spawn } from 'node:child_process';

export interface CurlAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** The body as JSON (a problem, or what the test service echoes). */
  json(): Record<string, unknown>;
}

/** `curl -s -x http://<proxy> <url>` with extra arguments (`-H ...`). */
export function curlVia(proxy: string, url: string, ...args: string[]): Promise<CurlAnswer> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', [
      '-sS',
      '--max-time',
      '15',
      '-x',
      `http://${proxy}`,
      '-w',
      '\n%{http_code} %{content_type}',
      ...args,
      url,
    ]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`curl -x ${proxy} ${url} exited with ${code}: ${err}`));
      const cut = out.lastIndexOf('\n');
      const [status, contentType = ''] = out.slice(cut + 1).split(' ');
      const body = out.slice(0, cut);
      resolve({ status: Number(status), contentType, body, json: () => JSON.parse(body) });
    });
  });
}
