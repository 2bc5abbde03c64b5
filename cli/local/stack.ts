/**
 * What a long-running local command has started, stopped newest first, and
 * the signals that stop it. `weft serve` runs one part (the API); `weft up`
 * adds more (the demo mesh now, gateway agents later) without changing how
 * shutdown works.
 *
 * @module
 */

/** One started part of the local mesh. */
export interface Running {
  /** For messages: `API`, `gateway aws`. */
  readonly name: string;
  close(): Promise<void>;
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
    for (const part of this.parts.splice(0).reverse()) {
      try {
        await part.close();
      } catch (error) {
        failures.push({ name: part.name, error });
      }
    }
    return failures;
  }
}

/**
 * Resolves on the first SIGINT or SIGTERM. A second one, while shutdown is
 * under way, exits at once (130) for an operator who does not want to wait.
 * Installed before anything starts, so Ctrl-C during start-up still shuts down cleanly.
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) process.exit(130);
      received = true;
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
