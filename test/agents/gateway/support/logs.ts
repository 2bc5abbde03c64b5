/**
 * A pino logger that keeps its JSON lines in memory, so tests can read what
 * the agent said (and check what it never says: keys and tokens).
 *
 * @module
 */
import { Writable } from 'node:stream';
import { createAgentLogger, type Logger } from '../../../../agents/gateway/log.js';

export interface MemoryLog {
  readonly logger: Logger;
  /** Every line so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Every line so far, as written. */
  text(): string;
}

export function memoryLog(): MemoryLog {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line));
      }
      done();
    },
  });
  const logger = createAgentLogger({ gateway: 'test', level: 'debug', destination });
  return { logger, lines, text: () => raw.join('\n') };
}
