import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { SnapshotAnswer } from '../../../agents/gateway/control-plane-client.js';
import { ControlPlaneRefusedError, ControlPlaneUnavailableError } from '../../../agents/gateway/errors.js';
import {
  type ControlPlaneStatus,
  FailoverClient,
  type ProbedControlPlane,
} from '../../../agents/gateway/failover-client.js';

const GATEWAY = { environment: 'aws', name: 'edge-1' };
const REPORT = { appliedVersion: null, appliedHash: null, refused: 0, x509ExpiresAt: null };
const ISSUED = {
  spiffeId: 'spiffe://t/gw/aws/edge-1',
  x509Svid: { certChain: ['c'], expiresAt: 'x' },
  bundle: {},
};

/** A control plane that is up, down (unreachable) or refusing (403), recording what it was asked. */
class FakePlane implements ProbedControlPlane {
  state: 'up' | 'down' | 'refusing' = 'up';
  readonly calls: string[] = [];
  probes = 0;
  closed = false;

  constructor(readonly name: string) {}

  #answer<T>(call: string, value: T): Promise<T> {
    this.calls.push(call);
    if (this.state === 'down')
      return Promise.reject(new ControlPlaneUnavailableError(`${this.name}: ECONNREFUSED`));
    if (this.state === 'refusing')
      return Promise.reject(new ControlPlaneRefusedError(403, `${this.name} refused`));
    return Promise.resolve(value);
  }

  attest = () => this.#answer('attest', ISSUED);
  renewX509 = () => this.#answer('renewX509', ISSUED);
  jwtSvid = () => this.#answer('jwtSvid', { token: `jwt-from-${this.name}`, expiresAt: 'x' });
  fetchSnapshot = () =>
    this.#answer<SnapshotAnswer>('fetchSnapshot', { kind: 'none', detail: `from ${this.name}` });
  reportStatus = () => this.#answer('reportStatus', undefined);
  probe = () => {
    this.probes += 1;
    return this.state === 'down'
      ? Promise.reject(new ControlPlaneUnavailableError(`${this.name} down`))
      : Promise.resolve();
  };
  close = () => {
    this.closed = true;
  };
}

function setUp(names = ['aws', 'gcp', 'azure']) {
  const planes = names.map((n) => new FakePlane(n));
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const clock = { now: 1_000_000 };
  const switches: ControlPlaneStatus[] = [];
  const client = new FailoverClient({
    planes: planes.map((client) => ({ url: `https://user:secret@${client.name}.weft.test/`, client })),
    logger,
    homeProbeIntervalMs: 20_000,
    now: () => clock.now,
    random: () => 0.5, // the interval itself: 20 s
    onSwitch: (s) => switches.push(s),
  });
  const [aws, gcp, azure] = planes as [FakePlane, FakePlane, FakePlane];
  const messages = () => lines.filter((l) => l.level >= 40 || l.level === 30).map((l) => l.msg);
  return { client, aws, gcp, azure, lines, clock, switches, messages };
}

describe('FailoverClient', () => {
  it('goes home while home answers, and nowhere else', async () => {
    const { client, aws, gcp } = setUp();
    expect(await client.fetchSnapshot(GATEWAY, 'b')).toEqual({ kind: 'none', detail: 'from aws' });
    await client.reportStatus(GATEWAY, 'b', REPORT);
    expect(aws.calls).toEqual(['fetchSnapshot', 'reportStatus']);
    expect(gcp.calls).toEqual([]);
    expect(client.status).toEqual({
      current: 'https://aws.weft.test',
      home: 'https://aws.weft.test',
      atHome: true,
      all: ['https://aws.weft.test', 'https://gcp.weft.test', 'https://azure.weft.test'],
    });
  });

  it('home down: the next one answers, becomes current, and the switch is logged once without secrets', async () => {
    const { client, aws, gcp, azure, switches, lines, messages } = setUp();
    aws.state = 'down';
    expect(await client.fetchSnapshot(GATEWAY, 'b')).toEqual({ kind: 'none', detail: 'from gcp' });
    expect((await client.jwtSvid('aud', 'proof')).token).toBe('jwt-from-gcp');
    await client.renewX509('csr', 'proof');
    await client.reportStatus(GATEWAY, 'b', REPORT);
    expect(aws.calls).toEqual(['fetchSnapshot']); // tried once; gcp is current from then on
    expect(gcp.calls).toEqual(['fetchSnapshot', 'jwtSvid', 'renewX509', 'reportStatus']);
    expect(azure.calls).toEqual([]);
    expect(client.status).toMatchObject({ current: 'https://gcp.weft.test', atHome: false });
    expect(switches).toHaveLength(1);
    expect(messages()).toEqual([
      'control plane https://aws.weft.test unreachable, using https://gcp.weft.test',
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('keeps the order: the third is tried only when the first two are down', async () => {
    const { client, aws, gcp, azure } = setUp();
    aws.state = 'down';
    gcp.state = 'down';
    expect(await client.fetchSnapshot(GATEWAY, 'b')).toEqual({ kind: 'none', detail: 'from azure' });
    expect([aws.calls, gcp.calls, azure.calls].map((c) => c.length)).toEqual([1, 1, 1]);
    // Away at azure, it wraps around in order: azure down, then aws (still down), then gcp.
    azure.state = 'down';
    gcp.state = 'up';
    expect(await client.fetchSnapshot(GATEWAY, 'b')).toEqual({ kind: 'none', detail: 'from gcp' });
    expect([aws.calls, gcp.calls, azure.calls].map((c) => c.length)).toEqual([2, 2, 2]);
  });

  it('does not fail over a refusal (4xx): that control plane answered', async () => {
    const { client, aws, gcp } = setUp();
    aws.state = 'refusing';
    await expect(client.fetchSnapshot(GATEWAY, 'b')).rejects.toBeInstanceOf(ControlPlaneRefusedError);
    await expect(client.renewX509('csr', 'proof')).rejects.toMatchObject({ status: 403 });
    expect(gcp.calls).toEqual([]);
    expect(client.status.atHome).toBe(true);
  });

  it('all down: a ControlPlaneUnavailableError naming each, and current stays where it was', async () => {
    const { client, aws, gcp, azure, switches } = setUp();
    for (const p of [aws, gcp, azure]) p.state = 'down';
    const error = await client.reportStatus(GATEWAY, 'b', REPORT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneUnavailableError);
    expect((error as Error).message).toMatch(/no control plane answered.*aws.*gcp.*azure/);
    expect(client.status.atHome).toBe(true);
    expect(switches).toEqual([]);
  });

  it('with one control plane, its own error comes through unchanged', async () => {
    const { client, aws } = setUp(['aws']);
    aws.state = 'down';
    await expect(client.fetchSnapshot(GATEWAY, 'b')).rejects.toThrow('aws: ECONNREFUSED');
  });

  it('attests at home only, even while away: a join token is spent where it was minted', async () => {
    const { client, aws, gcp } = setUp();
    aws.state = 'down';
    await client.fetchSnapshot(GATEWAY, 'b'); // now at gcp
    await expect(client.attest('token', 'csr')).rejects.toBeInstanceOf(ControlPlaneUnavailableError);
    expect(gcp.calls).toEqual(['fetchSnapshot']);
  });

  it('away from home: probes home once the interval passed, goes back when it answers, says so', async () => {
    const { client, aws, gcp, clock, switches, messages } = setUp();
    aws.state = 'down';
    await client.fetchSnapshot(GATEWAY, 'b');
    clock.now += 19_000; // not due yet: no probe
    await client.fetchSnapshot(GATEWAY, 'b');
    expect(aws.probes).toBe(0);
    clock.now += 1_000; // due, home still down: probed, stays away, next probe in 20 s
    await client.fetchSnapshot(GATEWAY, 'b');
    expect(aws.probes).toBe(1);
    expect(client.status.atHome).toBe(false);
    clock.now += 10_000;
    await client.fetchSnapshot(GATEWAY, 'b');
    expect(aws.probes).toBe(1);
    aws.state = 'up';
    clock.now += 10_000;
    expect(await client.fetchSnapshot(GATEWAY, 'b')).toEqual({ kind: 'none', detail: 'from aws' });
    expect(aws.probes).toBe(2);
    expect(client.status.atHome).toBe(true);
    expect(gcp.calls).toHaveLength(4);
    expect(switches.map((s) => s.atHome)).toEqual([false, true]);
    expect(messages()).toEqual([
      'control plane https://aws.weft.test unreachable, using https://gcp.weft.test',
      'back home at https://aws.weft.test',
    ]);
  });

  it('jitters the probe interval ±50 % (10 to 30 s at the default)', async () => {
    for (const [random, due] of [
      [0, 10_000],
      [0.999, 29_980],
    ] as const) {
      const planes = [new FakePlane('aws'), new FakePlane('gcp')];
      planes[0]!.state = 'down';
      const clock = { now: 0 };
      const client = new FailoverClient({
        planes: planes.map((p) => ({ url: `https://${p.name}.test`, client: p })),
        logger: pino({ level: 'silent' }),
        now: () => clock.now,
        random: () => random,
      });
      await client.fetchSnapshot(GATEWAY, 'b');
      planes[0]!.state = 'up';
      clock.now = due - 1;
      await client.fetchSnapshot(GATEWAY, 'b');
      expect(client.status.atHome).toBe(false);
      clock.now = due;
      await client.fetchSnapshot(GATEWAY, 'b');
      expect(client.status.atHome).toBe(true);
    }
  });

  it('concurrent calls that fail over together log one switch', async () => {
    const { client, aws, switches } = setUp();
    aws.state = 'down';
    await Promise.all([
      client.fetchSnapshot(GATEWAY, 'b'),
      client.jwtSvid('a', 'p'),
      client.renewX509('c', 'p'),
    ]);
    expect(switches).toHaveLength(1);
  });

  it('close closes every client', () => {
    const { client, aws, gcp, azure } = setUp();
    client.close();
    expect([aws, gcp, azure].every((p) => p.closed)).toBe(true);
  });
});
