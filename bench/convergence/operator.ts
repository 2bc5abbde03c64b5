/**
 * The benchmark as an operator of the control plane: an admin token and
 * fetch, nothing else, so what is timed is what `weft apply --wait` sees.
 *
 * @module
 */

export interface Convergence {
  readonly compiled: boolean;
  readonly targeted: number;
  readonly applied: number;
}

export class Operator {
  readonly #url: string;
  readonly #token: string;

  constructor(url: string, token: string) {
    this.#url = url;
    this.#token = token;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.#url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  /** Applies documents in batches the API takes (at most 1,000 a request); returns the greatest version written. */
  async apply(docs: readonly object[]): Promise<string> {
    let version = '';
    for (let i = 0; i < docs.length; i += 500) {
      const { results } = await this.#call<{ results: { version?: string }[] }>(
        'POST',
        '/v1/apply',
        docs.slice(i, i + 500),
      );
      for (const r of results) if (r.version && r.version > version) version = r.version;
    }
    return version;
  }

  /** `PUT`s one AccessPolicy; returns the version it was stored under. */
  async putPolicy(doc: { metadata: { name: string; namespace?: string } }): Promise<string> {
    const path = `/v1/accesspolicies/${doc.metadata.namespace}/${doc.metadata.name}`;
    const stored = await this.#call<{ status: { version: string } }>('PUT', path, doc);
    return stored.status.version;
  }

  joinToken(spiffeId: string): Promise<string> {
    return this.#call<{ token: string }>('POST', '/v1/join-tokens', { spiffeId, ttl: '30m' }).then(
      (t) => t.token,
    );
  }

  convergence(version: string): Promise<Convergence> {
    return this.#call('GET', `/v1/changes/${encodeURIComponent(version)}/convergence`);
  }

  /**
   * Polls until every targeted gateway applied `version`. Each poll reads
   * every targeted gateway's status, so the interval grows with the time
   * elapsed (2 % of it, 10 to 500 ms): fine-grained where it matters, and
   * not crowding the CPUs the agents need at 1,000 gateways.
   *
   * @returns milliseconds from `since` to compiled and to converged, and how many were targeted.
   */
  async waitConverged(version: string, since: number, timeoutMs = 600_000) {
    let compiledMs: number | undefined;
    for (;;) {
      const c = await this.convergence(version);
      const at = performance.now() - since;
      if (c.compiled) compiledMs ??= at;
      if (c.compiled && c.applied >= c.targeted)
        return { compiledMs: compiledMs!, convergedMs: at, targeted: c.targeted };
      if (at > timeoutMs) throw new Error(`not converged after ${timeoutMs} ms: ${JSON.stringify(c)}`);
      await new Promise((r) => setTimeout(r, Math.min(500, Math.max(10, at / 50))));
    }
  }
}
