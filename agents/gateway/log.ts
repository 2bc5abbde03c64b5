/**
 * The agent's log: JSON lines on stdout (pino), one event per line, with
 * level names rather than numbers and ISO times, so `jq` and log shippers
 * read it without a schema. Secrets are never passed to the logger; the
 * redaction list is the second line of defence for a field someone adds
 * later without thinking.
 *
 * @module
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/** Field names that would hold a secret, wherever they appear (two levels deep). */
const SECRET_FIELDS = [
  'token',
  'joinToken',
  'keyPem',
  'privateKey',
  'proof',
  'authorization',
  'bearer',
  'jws',
];

/** Options of {@link createAgentLogger}. */
export interface AgentLoggerOptions {
  /** `<environment>/<name>`, on every line. */
  readonly gateway: string;
  /** @default 'info' (`weft agent`: env WEFT_LOG_LEVEL) */
  readonly level?: string;
  /** @default stdout, written synchronously so the last lines before an exit are not lost */
  readonly destination?: DestinationStream;
}

let lastMs = -1;
let lastTime = '';
/**
 * pino's `isoTime`, formatted once per millisecond: a busy data plane writes
 * several access lines per millisecond, and `toISOString` was a visible
 * share of each (issue 5). Same text as `isoTime`.
 */
function isoTimeCached(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/** The shape every line of one agent shares, its access lines included (`access-log.ts`). */
export function agentLineOptions(gateway: string, level = 'info'): LoggerOptions {
  return {
    level,
    base: { component: 'weft-agent', gateway },
    timestamp: isoTimeCached,
    formatters: { level: (label) => ({ level: label }) },
  };
}

/**
 * A pino logger for one agent.
 *
 * @example
 * const log = createAgentLogger({ gateway: 'aws/aws-edge' });
 * log.info({ version }, 'config applied');
 */
export function createAgentLogger(options: AgentLoggerOptions): Logger {
  return pino(
    {
      ...agentLineOptions(options.gateway, options.level),
      redact: {
        paths: SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The message of an error, without its stack, for a log field. */
export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
