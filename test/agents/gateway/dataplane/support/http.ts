/**
 * Calling through an egress gateway as a workload would, and reading what
 * the data plane reports: answers as JSON, and the Prometheus text format
 * parsed into samples.
 *
 * @module
 */
import type { Dispatcher } from 'undici';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: Record<string, unknown>;
}

/** One request through `client`; the body read whole and parsed when it is JSON. */
export async function send(client: Dispatcher, options: Partial<Dispatcher.RequestOptions>): Promise<Answer> {
  const res = await client.request({ method: 'GET', path: '/', ...options } as Dispatcher.RequestOptions);
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.statusCode, headers: res.headers, json };
}

/** `n` requests, `concurrency` at a time; `options(i)` says what each is. */
export async function sendMany(
  client: Dispatcher,
  n: number,
  concurrency: number,
  options: (i: number) => Partial<Dispatcher.RequestOptions>,
): Promise<Answer[]> {
  const answers: Answer[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      try {
        answers[i] = await send(client, options(i));
      } catch (error) {
        answers[i] = { status: 0, headers: {}, json: { error: String(error) } };
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the Prometheus text exposition format (what `/metrics` serves). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[k!] = v!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of `name` over the samples whose labels include `match`. */
export function total(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
