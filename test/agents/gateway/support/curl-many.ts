/**
 * Many calls from ONE real curl process through an egress: the URLs (and
 * headers, so a token stays off the command line) go in a config file on
 * stdin (`-K -`), curl walks them in order on a kept-alive proxy
 * connection, and `-w` closes each transfer's body with a marker line
 * carrying its status. Spawning a curl per call would cost more than the
 * calls; one process makes thousands of calls a matter of seconds.
 *
 * @module
 */
import { spawn } from 'node:child_process';

/** One transfer's answer: status 0 when curl got no HTTP answer at all. */
export interface Transfer {
  readonly status: number;
  readonly body: string;
}

/** Options of {@link curlManyVia}. */
export interface CurlManyOptions {
  /** Header lines sent with every call (`Authorization: Bearer ...`). @default none */
  readonly headers?: readonly string[];
  /** Called as each answer arrives, with how many arrived so far. @default none */
  readonly onTransfer?: (transfer: Transfer, count: number) => void;
}

// Printed by -w after each body; nothing the mesh or the test services write looks like it.
const MARKER = '--curl-many-transfer-done--';
const END = new RegExp(`\\n${MARKER} (\\d{3})\\n`);

/** A curl config line: the value quoted, as `curl -K` reads it. */
const line = (name: string, value: string) => `${name} = "${value.replace(/["\\]/g, '\\$&')}"\n`;

/**
 * Calls every URL in `urls`, one after the other, in one `curl -x` process.
 * Resolves with one {@link Transfer} per URL, in order; curl going on past
 * failed transfers is the point (a 000 is an answer to count), so only a
 * curl that cannot start, or that leaves transfers unanswered, rejects.
 */
export function curlManyVia(
  proxy: string,
  urls: readonly string[],
  options: CurlManyOptions = {},
): Promise<Transfer[]> {
  const config = [
    line('proxy', `http://${proxy}`),
    line('max-time', '15'),
    line('write-out', `\\n${MARKER} %{http_code}\\n`),
    ...(options.headers ?? []).map((h) => line('header', h)),
    ...urls.map((u) => line('url', u)),
  ].join('');
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '-K', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const transfers: Transfer[] = [];
    let pending = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      pending += d;
      for (let m = END.exec(pending); m; m = END.exec(pending)) {
        const transfer = { status: Number(m[1]), body: pending.slice(0, m.index) };
        pending = pending.slice(m.index + m[0].length);
        transfers.push(transfer);
        options.onTransfer?.(transfer, transfers.length);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', reject);
    child.on('close', () => {
      if (transfers.length === urls.length) return resolve(transfers);
      reject(new Error(`curl -x ${proxy} answered ${transfers.length} of ${urls.length} calls: ${err}`));
    });
    child.stdin.end(config);
  });
}
