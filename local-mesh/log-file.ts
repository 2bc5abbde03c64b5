/**
 * Reading a child's JSON-lines log file while it is written: `weft up`
 * waits for an agent's `ready` line by following the file, because the
 * agent writes there directly rather than through a pipe `weft up` would
 * have to keep draining.
 *
 * @module
 */
import { open } from 'node:fs/promises';

/** How often the file is looked at: a ready line shows up within this. */
const POLL_MS = 100;

/** The file's text from byte `from` on. */
export async function readLogFrom(file: string, from: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.max(0, size - from));
    await handle.read(buffer, 0, buffer.length, from);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

export interface WaitForLineOptions {
  /** Settles when the writer exits: no line will come after that. */
  readonly exited: Promise<unknown>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Follows `file` from byte `from` until a JSON line satisfies `match`.
 *
 * @returns the line, or `'exited'` / `'timeout'`.
 * @throws the abort reason when `signal` aborts.
 */
export async function waitForLogLine(
  file: string,
  from: number,
  match: (event: Record<string, unknown>) => boolean,
  options: WaitForLineOptions,
): Promise<Record<string, unknown> | 'exited' | 'timeout'> {
  let gone = false;
  void options.exited.then(() => (gone = true));
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    // Checked before reading, so the lines of a writer that just exited are still read once.
    const last = gone;
    const found = parseLines(await readLogFrom(file, from)).find(match);
    if (found) return found;
    if (last) return 'exited';
    if (Date.now() >= deadline) return 'timeout';
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function parseLines(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line still being written; it is read whole on the next look.
    }
  }
  return events;
}
