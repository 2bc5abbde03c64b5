/**
 * The real curl binary as a workload next to a gateway: `curl -x` through
 * the egress, as `HTTP_PROXY` clients do. Status and content type come from
 * `-w`, the body as text.
 *
 * @module
 */
import { runProcess } from '../../../support/run-process.js';

export interface CurlAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** The body as JSON (a problem, or what the test service echoes). */
  json(): Record<string, unknown>;
}

/** `curl -s -x http://<proxy> <url>` with extra arguments (`-H ...`). */
export async function curlVia(proxy: string, url: string, ...args: string[]): Promise<CurlAnswer> {
  const { code, stdout, stderr } = await runProcess('curl', [
    ...['-sS', '--max-time', '15', '-x', `http://${proxy}`],
    ...['-w', '\n%{http_code} %{content_type}', ...args, url],
  ]);
  if (code !== 0) throw new Error(`curl -x ${proxy} ${url} exited with ${code}: ${stderr}`);
  const cut = stdout.lastIndexOf('\n');
  const [status, contentType = ''] = stdout.slice(cut + 1).split(' ');
  const body = stdout.slice(0, cut);
  return { status: Number(status), contentType, body, json: () => JSON.parse(body) };
}
