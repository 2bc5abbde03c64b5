/**
 * The real curl binary as the client, the way an operator pokes at weft:
 * status and content type from `-w`, the body as text.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { runProcess } from '../../support/run-process.js';

export interface CurlResult {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** `curl -s URL` with extra arguments (`-X POST`, `-H ...`, `--data-binary ...`). */
export async function curl(url: string, ...args: string[]): Promise<CurlResult> {
  const { code, stdout } = await runProcess('curl', [
    '-s',
    '--max-time',
    '10',
    '-w',
    '\n%{http_code} %{content_type}',
    ...args,
    url,
  ]);
  if (code !== 0) throw new Error(`curl ${url} exited with ${code}`);
  const cut = stdout.lastIndexOf('\n');
  const [status, contentType = ''] = stdout.slice(cut + 1).split(' ');
  return { status: Number(status), contentType, body: stdout.slice(0, cut) };
}

/** `curl` and JSON.parse of the body. */
export async function curlJson<T = Record<string, unknown>>(url: string, ...args: string[]): Promise<T> {
  const res = await curl(url, ...args);
  return JSON.parse(res.body) as T;
}

/** `POST` of a compact JWS, as the control plane sends a webhook notification. */
export function postJose(url: string, jws: string): Promise<CurlResult> {
  return curl(url, '-X', 'POST', '-H', 'content-type: application/jose', '--data-binary', jws);
}

/** A metric's value in a Prometheus text exposition (`name{labels}` exactly as written), 0 when absent. */
export function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/**
 * True while a process with this pid runs. A zombie (exited, not yet reaped:
 * an orphan waits for whoever adopted it) counts as gone.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // `pid (comm) S ...`: the state follows the last parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** An HTTP response as `curl -i` prints it: the status line's code, headers (lowercase names), body. */
export interface CurlIncluded {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Runs a command line the way an operator pastes one: `bash -c`, in `cwd`,
 * so `$(...)` substitutions run too. For lines that call `curl -i`.
 */
export async function shellCurl(line: string, cwd: string, env: NodeJS.ProcessEnv): Promise<CurlIncluded> {
  const { code, stdout: out, stderr: err } = await runProcess('bash', ['-c', line], { cwd, env });
  const cut = out.indexOf('\r\n\r\n');
  const status = /^HTTP\/[\d.]+ (\d{3})/.exec(out)?.[1];
  if (code !== 0 || cut < 0 || !status) throw new Error(`${line}\nexited with ${code}:\n${out}\n${err}`);
  const headers = Object.fromEntries(
    out
      .slice(0, cut)
      .split('\r\n')
      .slice(1)
      .map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]),
  );
  return { status: Number(status), headers, body: out.slice(cut + 4) };
}
