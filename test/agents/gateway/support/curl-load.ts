/**
 * Continuous load through an egress from real curl processes: a few workers,
 * each running curl after curl, every curl making a batch of calls on one
 * kept-alive proxy connection (URLs and headers in a `-K -` config on
 * stdin, so a token stays off the command line). Each call's status is
 * kept with when it came back, so a test can say which calls straddled an
 * event (a credential rotation) and that none was lost: a call that got no
 * answer, or that curl never reached, counts as status 0.
 *
 * @module
 */
import { runProcess } from '../../../support/run-process.js';

/** One call and how it ended. */
export interface LoadResult {
  readonly url: string;
  /** The HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** `Date.now()` when its answer (or its failure) was read. */
  readonly at: number;
}

/** Options of {@link startCurlLoad}. */
export interface CurlLoadOptions {
  /** `host:port` of the egress. */
  readonly proxy: string;
  /** Header lines sent with every call. */
  readonly headers: readonly string[];
  /** The `i`-th URL worker `worker` calls. */
  readonly url: (worker: number, i: number) => string;
  /** @default 4 */
  readonly workers?: number;
  /** Calls per curl process. @default 25 */
  readonly batch?: number;
}

/** Load under way. */
export interface CurlLoad {
  /** Results so far. */
  readonly results: readonly LoadResult[];
  /** Resolves once `n` more calls than now have come back. */
  more(n: number): Promise<void>;
  /** Lets each worker finish its current curl, then resolves with every result. */
  stop(): Promise<LoadResult[]>;
}

const quote = (value: string) => JSON.stringify(value);

/** Runs one curl over `urls`, calling `onResult` as each status line arrives. */
async function curlBatch(
  proxy: string,
  headers: readonly string[],
  urls: readonly string[],
  onResult: (r: LoadResult) => void,
): Promise<void> {
  const config = [
    ...headers.map((h) => `header = ${quote(h)}`),
    ...urls.flatMap((url) => [`url = ${quote(url)}`, 'output = "/dev/null"']),
  ].join('\n');
  let done = 0;
  let partial = '';
  await runProcess(
    'curl',
    ['-sS', '--max-time', '15', '-x', `http://${proxy}`, '-w', '%{http_code}\n', '-K', '-'],
    {
      input: `${config}\n`,
      onStdout: (chunk) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines)
          onResult({ url: urls[done++] ?? '?', status: Number(line) || 0, at: Date.now() });
      },
    },
  );
  // Calls curl never got to were lost too.
  while (done < urls.length) onResult({ url: urls[done++]!, status: 0, at: Date.now() });
}

/** Starts the load; it runs until `stop()`. */
export function startCurlLoad(options: CurlLoadOptions): CurlLoad {
  const batch = options.batch ?? 25;
  const results: LoadResult[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let stopped = false;
  const record = (result: LoadResult) => {
    results.push(result);
    for (const w of waiters.filter((w) => results.length >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const worker = async (w: number) => {
    for (let next = 0; !stopped; next += batch) {
      const urls = Array.from({ length: batch }, (_, i) => options.url(w, next + i));
      await curlBatch(options.proxy, options.headers, urls, record);
    }
  };
  const running = Promise.all(Array.from({ length: options.workers ?? 4 }, (_, w) => worker(w)));
  return {
    results,
    more: (n) => new Promise((resolve) => waiters.push({ count: results.length + n, resolve })),
    async stop() {
      stopped = true;
      await running;
      return results;
    },
  };
}
