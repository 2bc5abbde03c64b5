/**
 * The data plane's access log: one JSON line per call per hop, the same
 * shape as the agent's own lines, but written in batches. A synchronous
 * `write(2)` per call was the gateway's largest single cost under load
 * (issue 5), so lines collect in memory and go out in writes of about
 * 24 KiB, off the event loop. Nothing is lost on a clean stop: `close()`
 * and process exit flush what is left, and a timer flushes every second so
 * a quiet gateway's lines still show up promptly.
 *
 * Why that size: every batch wakes a libuv worker thread, and on a busy
 * two-core host those wake-ups cost more than formatting the lines. 4 KiB
 * batches (atomic on a Linux pipe) left the log at about a fifth of a hop's
 * CPU; 24-32 KiB batches, about a tenth. The price: a batch holds whole
 * lines, but on a pipe whose reader has fallen behind, a batch larger than
 * `PIPE_BUF` can be split around one of the agent's own (synchronous) event
 * lines. Files, and pipes that keep up, never split.
 *
 * @module
 */
import { type Logger, pino } from 'pino';
import { agentLineOptions } from './log.js';

/** A batch goes out once it holds this many characters (close to bytes: the lines are mostly ASCII). */
const BATCH_CHARS = 24_576;
/** The largest single write SonicBoom makes. */
const MAX_WRITE_BYTES = 65_536;
/** The longest a line waits in memory on a quiet gateway. */
const FLUSH_EVERY_MS = 1_000;

/** Options of {@link createAccessLog}. */
export interface AccessLogOptions {
  /** `<environment>/<name>`, on every line. */
  readonly gateway: string;
  /** @default 'info' */
  readonly level?: string;
  /** A file descriptor or a path (appended to). @default 1, stdout */
  readonly dest?: number | string;
}

/** A buffered access log and what flushes it. */
export interface AccessLog {
  readonly logger: Logger;
  /** Writes out every buffered line now, synchronously. */
  flushSync(): void;
  /** Flushes and stops the timer; lines logged after this are still written on exit. */
  close(): void;
}

type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * Lines gathered into one string, handed to SonicBoom a batch at a time.
 * SonicBoom measures its pending buffer (`Buffer.byteLength`) on every
 * `write`, so line by line into a 24 KiB buffer cost a scan of up to 24 KiB
 * per line; here a line costs an append.
 */
class LineBatch {
  readonly #target: SonicBoom;
  #pending = '';

  constructor(target: SonicBoom) {
    this.#target = target;
  }

  write(line: string): void {
    this.#pending += line;
    if (this.#pending.length >= BATCH_CHARS) this.flush();
  }

  /** Hands what is pending to SonicBoom, which writes it off the event loop. */
  flush(): void {
    if (this.#pending === '') return;
    this.#target.write(this.#pending);
    this.#pending = '';
  }

  flushSync(): void {
    this.flush();
    try {
      this.#target.flushSync();
    } catch {
      // Not open yet (a path opens asynchronously: nothing was written) or already destroyed.
    }
  }
}

/**
 * Creates the access log: pino into a {@link LineBatch} on an asynchronous
 * SonicBoom, flushed synchronously on process exit.
 *
 * @example
 * const access = createAccessLog({ gateway: 'aws/aws-edge' });
 * createDataPlane({ ...options, accessLogger: access.logger });
 * // on stop: await plane.close(); access.close();
 */
export function createAccessLog(options: AccessLogOptions): AccessLog {
  const batch = new LineBatch(
    pino.destination({ dest: options.dest ?? 1, sync: false, maxWrite: MAX_WRITE_BYTES }),
  );
  const timer = setInterval(() => batch.flush(), FLUSH_EVERY_MS).unref();
  const onExit = () => batch.flushSync();
  process.on('exit', onExit);
  // No redaction paths, unlike the agent's logger: an access line's fields are fixed by `CallRecord`,
  // which never holds a header, and matching the paths cost twice what the rest of the line does.
  const logger = pino(agentLineOptions(options.gateway, options.level), batch);
  return {
    logger,
    flushSync: () => batch.flushSync(),
    close() {
      clearInterval(timer);
      process.off('exit', onExit);
      batch.flushSync();
    },
  };
}
