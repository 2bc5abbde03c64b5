/**
 * What a long-running local command has started, stopped newest first, and
 * the signals that stop it. `weft serve` runs one part (the API); `weft up`
 * adds the demo services and the gateway agents, which therefore stop
 * before the API they talk to.
 *
 * @module
 */

/** One started part of the local mesh. */
export interface Running {
  /** For messages: `API`, `gateway aws`. */
  readonly name: string;
  close(): Promise<void>;
  /** Ends it at once, without waiting (child processes: SIGKILL). For a second Ctrl-C. */
  kill?(): void;
}

/** Started parts, closed in reverse order of starting. */
export class LocalStack {
  private readonly parts: Running[] = [];

  /** Registers a started part and hands it back. */
  add<T extends Running>(part: T): T {
    this.parts.push(part);
    return part;
  }

  /**
   * Closes every part, newest first, even when one fails.
   *
   * @returns the parts that failed to close, with their errors.
   */
  async close(): Promise<{ name: string; error: unknown }[]> {
    const failures: { name: string; error: unknown }[] = [];
    // Each part leaves the list once closed, not before: one still closing can still be killed.
    for (let part = this.parts.at(-1); part; part = this.parts.at(-1)) {
      try {
        await part.close();
      } catch (error) {
        failures.push({ name: part.name, error });
      }
      this.parts.pop();
    }
    return failures;
  }

  /** Kills what can be killed, at once: nothing started may outlive a forced exit. */
  kill(): void {
    for (const part of this.parts) part.kill?.();
  }
}

/** How soon after the first stop signal a repeat counts as the operator insisting. */
export const REPEAT_GRACE_MS = 500;

/**
 * Resolves on the first SIGINT or SIGTERM. A second one, while shutdown is
 * under way, exits at once (130) for an operator who does not want to wait,
 * after `onForce` (which kills child processes, so none is left behind).
 * Installed before anything starts, so Ctrl-C during start-up still shuts down cleanly.
 *
 * Under `npm start` one Ctrl-C arrives twice: from the terminal (npm and
 * weft share its process group) and forwarded by npm. So a repeat within
 * {@link REPEAT_GRACE_MS} is the same Ctrl-C, not a second one.
 */
export function stopSignal(onForce?: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let receivedAt: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (receivedAt !== undefined) {
        if (Date.now() - receivedAt < REPEAT_GRACE_MS) return;
        onForce?.();
        process.exit(130);
      }
      receivedAt = Date.now();
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/**
 * Closes the stack after a stop signal and reports parts that would not close.
 *
 * @returns the exit code: 0 when everything closed.
 */
export async function shutDown(stack: LocalStack, err: (line: string) => void): Promise<number> {
  const failures = await stack.close();
  for (const { name, error } of failures)
    err(`error: ${name} did not stop cleanly: ${(error as Error).message}`);
  return failures.length === 0 ? 0 : 1;
}
