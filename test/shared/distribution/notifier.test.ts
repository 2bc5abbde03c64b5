import { describe, expect, it } from 'vitest';
import { logNotifyOutcome, Notifier, type NotifyOutcome } from '../../../shared/distribution/notifier.js';
import { startHttpServer } from '../../support/http.js';

/** A webhook on 127.0.0.1 that answers `statuses` in turn (then 204), recording what it got. */
async function webhook(statuses: number[]) {
  const got: { contentType: string | undefined; body: string }[] = [];
  const server = await startHttpServer((req, body, res) => {
    got.push({ contentType: req.headers['content-type'], body });
    res.writeHead(statuses.shift() ?? 204);
    res.end();
  });
  return { url: `${server.url}/weft/notify`, got };
}

function notifier(options: ConstructorParameters<typeof Notifier>[0] = {}) {
  const outcomes: NotifyOutcome[] = [];
  const n = new Notifier({
    baseDelayMs: 5,
    random: () => 0.5,
    onOutcome: (o) => outcomes.push(o),
    ...options,
  });
  return { n, outcomes };
}

describe('Notifier', () => {
  it('POSTs the JWS as application/jose, and retries a webhook that fails twice', async () => {
    const hook = await webhook([503, 500]);
    const { n, outcomes } = notifier();
    n.notify({ gateway: 'aws/gw-1', url: hook.url, body: 'a.b.c' });
    await n.idle();
    expect(hook.got).toStrictEqual(Array(3).fill({ contentType: 'application/jose', body: 'a.b.c' }));
    expect(outcomes).toStrictEqual([
      { gateway: 'aws/gw-1', url: hook.url, result: 'delivered', attempts: 3 },
    ]);
  });

  it('gives up after 5 tries, waiting longer each time', async () => {
    const hook = await webhook(Array(10).fill(503));
    const { n, outcomes } = notifier({ baseDelayMs: 8, random: () => 0 });
    const started = performance.now();
    n.notify({ gateway: 'aws/gw-1', url: hook.url, body: 'x' });
    await n.idle();
    const elapsed = performance.now() - started;
    expect(hook.got).toHaveLength(5);
    expect(outcomes).toStrictEqual([
      { gateway: 'aws/gw-1', url: hook.url, result: 'failed', attempts: 5, detail: '503' },
    ]);
    // Half of 8 + 16 + 32 + 64 ms at the least, with random() = 0.
    expect(elapsed).toBeGreaterThanOrEqual(60);
  });

  it('does not retry a status that will not change (404), nor wait on a dead port forever', async () => {
    const hook = await webhook([404]);
    const { n, outcomes } = notifier({ timeoutMs: 500 });
    n.notify({ gateway: 'aws/gw-1', url: hook.url, body: 'x' });
    n.notify({ gateway: 'aws/gw-2', url: 'http://127.0.0.1:1/notify', body: 'x' });
    await n.idle();
    expect(hook.got).toHaveLength(1);
    const byGateway = Object.fromEntries(outcomes.map((o) => [o.gateway, [o.result, o.attempts]]));
    expect(byGateway).toStrictEqual({ 'aws/gw-1': ['failed', 1], 'aws/gw-2': ['failed', 5] });
  });

  it('sends only the latest of several notifications for one gateway', async () => {
    const hook = await webhook([]);
    const { n } = notifier({ concurrency: 1 });
    n.notify({ gateway: 'busy', url: hook.url, body: 'first' });
    for (const body of ['v1', 'v2', 'v3']) n.notify({ gateway: 'aws/gw-1', url: hook.url, body });
    await n.idle();
    expect(hook.got.map((g) => g.body)).toStrictEqual(['first', 'v3']);
  });

  it('abandons retries of a superseded notification', async () => {
    const hook = await webhook([503, 503, 503]);
    const { n, outcomes } = notifier({ baseDelayMs: 30 });
    n.notify({ gateway: 'aws/gw-1', url: hook.url, body: 'old' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    n.notify({ gateway: 'aws/gw-1', url: hook.url, body: 'new' });
    await n.idle();
    expect(outcomes.find((o) => o.result === 'superseded')).toMatchObject({ attempts: 1 });
    expect(hook.got.at(-1)?.body).toBe('new');
    expect(hook.got.filter((g) => g.body === 'old')).toHaveLength(1);
  });

  it('runs at most `concurrency` requests at once', async () => {
    let inFlight = 0;
    let most = 0;
    const server = await startHttpServer((_req, _body, res) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        res.writeHead(204);
        res.end();
      }, 20);
    });
    const { n, outcomes } = notifier({ concurrency: 3 });
    for (let i = 0; i < 10; i++) n.notify({ gateway: `g/${i}`, url: server.url, body: 'x' });
    await n.idle();
    expect(most).toBe(3);
    expect(outcomes.filter((o) => o.result === 'delivered')).toHaveLength(10);
  });

  it('close() cuts retry waits short', async () => {
    const hook = await webhook(Array(10).fill(503));
    const { n } = notifier({ baseDelayMs: 60_000 });
    n.notify({ gateway: 'aws/gw-1', url: hook.url, body: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await n.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(hook.got).toHaveLength(1);
  });
});

describe('logNotifyOutcome', () => {
  /** A logger that keeps each event with its level. */
  function fakeLogger() {
    const lines: { level: 'info' | 'error'; event: Record<string, unknown> }[] = [];
    return {
      lines,
      info: (event: Record<string, unknown>) => lines.push({ level: 'info', event }),
      error: (event: Record<string, unknown>) => lines.push({ level: 'error', event }),
    };
  }
  const dead = 'http://127.0.0.1:1/notify';
  const logged = (logger: ReturnType<typeof fakeLogger>) =>
    logger.lines.map(({ level, event }) => [level, event.gateway, event.result, event.neverReported]);

  it('logs a failure to a gateway that never reported at info (not started yet), marked neverReported', async () => {
    const logger = fakeLogger();
    const asked: string[] = [];
    const n = new Notifier({
      attempts: 1,
      onOutcome: logNotifyOutcome(logger),
      hasReported: async (gateway) => {
        asked.push(gateway);
        return false;
      },
    });
    for (const gw of ['a/gw-a', 'b/gw-b', 'c/gw-c']) n.notify({ gateway: gw, url: dead, body: 'x' });
    await n.idle();
    expect(logged(logger).sort()).toStrictEqual([
      ['info', 'a/gw-a', 'failed', true],
      ['info', 'b/gw-b', 'failed', true],
      ['info', 'c/gw-c', 'failed', true],
    ]);
    expect(logger.lines[0]?.event).toMatchObject({ msg: 'webhook', url: dead, attempts: 1 });
    expect(asked.sort()).toStrictEqual(['a/gw-a', 'b/gw-b', 'c/gw-c']);
  });

  it('logs a failure at error once the gateway reported, or took a notification before', async () => {
    const hook = await webhook([204, 503]);
    const logger = fakeLogger();
    const reported = new Set(['a/gw-a']);
    const n = new Notifier({
      attempts: 1,
      onOutcome: logNotifyOutcome(logger),
      hasReported: async (gateway) => reported.has(gateway),
    });
    n.notify({ gateway: 'a/gw-a', url: dead, body: 'x' });
    n.notify({ gateway: 'b/gw-b', url: hook.url, body: 'v1' });
    await n.idle();
    n.notify({ gateway: 'b/gw-b', url: hook.url, body: 'v2' });
    await n.idle();
    expect(logged(logger)).toStrictEqual([
      ['error', 'a/gw-a', 'failed', undefined],
      ['info', 'b/gw-b', 'delivered', undefined],
      ['error', 'b/gw-b', 'failed', undefined],
    ]);
  });

  it('logs every failure at error when no one says who reported, as before', async () => {
    const logger = fakeLogger();
    const n = new Notifier({ attempts: 1, onOutcome: logNotifyOutcome(logger) });
    n.notify({ gateway: 'a/gw-a', url: dead, body: 'x' });
    await n.idle();
    expect(logged(logger)).toStrictEqual([['error', 'a/gw-a', 'failed', undefined]]);
  });
});
