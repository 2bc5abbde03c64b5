/**
 * The CLI's two ways to fail, each with its exit code: a usage error (2), when
 * the command line or the input it names is wrong, says what to fix; a
 * refused or failed request (1) says what to do.
 *
 * @module
 */

/** Exit codes, as scripts see them. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Anything the CLI reports as one line and an exit code rather than a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;
  /** Lines printed under the message (further field errors, for instance). */
  readonly details: readonly string[];

  constructor(
    message: string,
    exitCode: number,
    details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** The command line itself is wrong: unknown command, flag or kind. Exit 2. */
export class UsageError extends CliError {
  /**
   * @param message what is wrong, without the help hint.
   * @param helpFor the command whose help to point at (`get`), or `''` for `weft --help`.
   */
  constructor(message: string, helpFor: string) {
    super(`${message}; see \`weft ${helpFor ? `${helpFor} ` : ''}--help\``, EXIT.usage);
    this.name = 'UsageError';
  }
}

/**
 * The input the command line names cannot be used: a missing or unreadable
 * file, text that is not YAML or JSON (with file, line and column). Exit 2,
 * like {@link UsageError}, but without the help hint: the file needs fixing,
 * not the flags.
 */
export class InputError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.usage, [], options);
    this.name = 'InputError';
  }
}

/** The API refused the request or could not be reached. Exit 1. */
export class RequestError extends CliError {
  constructor(message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, EXIT.failed, details, options);
    this.name = 'RequestError';
  }
}
