import { beforeAll, describe, expect, it } from 'vitest';
import { compileSnapshots } from '../../../shared/compiler/compile.js';
import { meshStateFrom } from '../../../shared/compiler/mesh-state.js';
import { type RefusalReason, SnapshotRefusedError } from '../../../shared/contract/signed-jws.js';
import { signNotification, verifyNotification } from '../../../shared/contract/signed-notification.js';
import { peekSnapshot, signSnapshot, verifySnapshot } from '../../../shared/contract/signed-snapshot.js';
import type { GatewaySnapshot } from '../../../shared/contract/snapshot.js';
import type { ParsedBundle } from '../../../shared/identity/bundle.js';
import type { JwtSigningKey } from '../../../shared/identity/ca.js';
import { signCompactJws } from '../../../shared/identity/signer.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { memoryCa, meshDocs, TD, writer } from '../../support/distribution.js';

const ME = `spiffe://${TD}/gw/aws/aws-1`;
let key: JwtSigningKey;
let bundle: ParsedBundle;
let foreign: JwtSigningKey;
let snapshot: GatewaySnapshot;
let jws: string;

beforeAll(async () => {
  const mine = await memoryCa();
  ({ bundle } = mine);
  key = await mine.ca.jwtSigningKey('local');
  foreign = await (await memoryCa()).ca.jwtSigningKey('local');
  const store = new MemoryStateStore();
  await writer(store).apply(meshDocs());
  const result = compileSnapshots(meshStateFrom(await store.changedSince(undefined), null));
  snapshot = result.snapshots.get('aws/aws-1')!;
  jws = await signSnapshot(snapshot, key);
});

async function refusal(promise: Promise<unknown>): Promise<SnapshotRefusedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SnapshotRefusedError);
  return error as SnapshotRefusedError;
}

const reason = async (promise: Promise<unknown>): Promise<RefusalReason> => (await refusal(promise)).reason;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('signSnapshot and verifySnapshot', () => {
  it('round-trips: the verified snapshot is the one signed, and the header names version and hash', async () => {
    expect(await verifySnapshot(jws, bundle, { expectedSpiffeId: ME })).toStrictEqual(
      JSON.parse(JSON.stringify(snapshot)),
    );
    expect(peekSnapshot(jws)).toStrictEqual({ kid: key.kid, version: snapshot.version, hash: snapshot.hash });
    expect(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString())).toMatchObject({
      alg: 'ES256',
      typ: 'weft-snapshot+jws',
    });
  });

  it('accepts a strictly newer version than the applied one', async () => {
    const older = '0000000000001-000000-local';
    const verified = await verifySnapshot(jws, bundle, { expectedSpiffeId: ME, appliedVersion: older });
    expect(verified.version).toBe(snapshot.version);
  });

  it('refuses a tampered payload (signature)', async () => {
    const [h, , s] = jws.split('.');
    const changed = {
      ...JSON.parse(JSON.stringify(snapshot)),
      mesh: { ...snapshot.mesh, defaultAction: 'allow' },
    };
    expect(await reason(verifySnapshot(`${h}.${b64(changed)}.${s}`, bundle, { expectedSpiffeId: ME }))).toBe(
      'signature',
    );
  });

  it('refuses a key outside the bundle (unknown-key), even with a kid the bundle lists', async () => {
    const byForeign = await signSnapshot(snapshot, foreign);
    expect(await reason(verifySnapshot(byForeign, bundle, { expectedSpiffeId: ME }))).toBe('unknown-key');
    const impostor = await signSnapshot(snapshot, { kid: key.kid, signer: foreign.signer });
    expect(await reason(verifySnapshot(impostor, bundle, { expectedSpiffeId: ME }))).toBe('signature');
  });

  it('refuses another typ, another alg and what is not a JWS (malformed)', async () => {
    const notify = await signNotification(
      { gateway: ME, version: snapshot.version, hash: snapshot.hash, iat: 1 },
      key,
    );
    expect(await reason(verifySnapshot(notify, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    const asJwt = await signCompactJws(key.signer, { kid: key.kid, typ: 'JWT' }, JSON.stringify(snapshot));
    expect(await reason(verifySnapshot(asJwt, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    const none = `${b64({ alg: 'none', typ: 'weft-snapshot+jws', kid: key.kid })}.${jws.split('.')[1]}.`;
    expect(await reason(verifySnapshot(none, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    expect(await reason(verifySnapshot('not a jws', bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    const array = await signCompactJws(key.signer, { kid: key.kid, typ: 'weft-snapshot+jws' }, '[1]');
    expect(await reason(verifySnapshot(array, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
  });

  it('refuses a header that disagrees with the payload (malformed)', async () => {
    const header = {
      kid: key.kid,
      typ: 'weft-snapshot+jws',
      version: '9999999999999-000000-local',
      hash: snapshot.hash,
    };
    const lying = await signCompactJws(key.signer, header, JSON.stringify(snapshot));
    expect(await reason(verifySnapshot(lying, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
  });

  it("refuses another gateway's snapshot (wrong-gateway)", async () => {
    const other = `spiffe://${TD}/gw/aws/aws-2`;
    expect(await reason(verifySnapshot(jws, bundle, { expectedSpiffeId: other }))).toBe('wrong-gateway');
  });

  it('refuses an older version, and an equal one, saying when it is the very snapshot applied', async () => {
    const newer = `${String(Number(snapshot.version.slice(0, 13)) + 1).padStart(13, '0')}-000000-local`;
    const older = await refusal(verifySnapshot(jws, bundle, { expectedSpiffeId: ME, appliedVersion: newer }));
    expect([older.reason, older.unchanged]).toStrictEqual(['stale-version', false]);
    const same = await refusal(
      verifySnapshot(jws, bundle, {
        expectedSpiffeId: ME,
        appliedVersion: snapshot.version,
        appliedHash: snapshot.hash,
      }),
    );
    expect([same.reason, same.unchanged]).toStrictEqual(['stale-version', true]);
    const conflicting = await refusal(
      verifySnapshot(jws, bundle, {
        expectedSpiffeId: ME,
        appliedVersion: snapshot.version,
        appliedHash: 'f'.repeat(64),
      }),
    );
    expect([conflicting.reason, conflicting.unchanged]).toStrictEqual(['stale-version', false]);
  });

  it('refuses a signed snapshot whose content does not hash to its hash (hash)', async () => {
    const wrong = { ...snapshot, hash: 'a'.repeat(64) };
    const signed = await signSnapshot(wrong, key);
    expect(await reason(verifySnapshot(signed, bundle, { expectedSpiffeId: ME }))).toBe('hash');
  });

  it('peekSnapshot reads nothing from what is not a snapshot JWS', () => {
    expect(peekSnapshot('garbage')).toBeUndefined();
    expect(peekSnapshot(`${b64({ typ: 'JWT', kid: 'k', version: 'v', hash: 'h' })}.x.y`)).toBeUndefined();
  });
});

describe('signNotification and verifyNotification', () => {
  const note = () => ({ gateway: ME, version: snapshot.version, hash: snapshot.hash, iat: 1_700_000_000 });

  it('round-trips', async () => {
    const signed = await signNotification(note(), key);
    expect(await verifyNotification(signed, bundle, { expectedSpiffeId: ME })).toStrictEqual(note());
  });

  it('refuses a snapshot JWS, a foreign key, another gateway and a version not newer', async () => {
    const signed = await signNotification(note(), key);
    expect(await reason(verifyNotification(jws, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    expect(
      await reason(
        verifyNotification(await signNotification(note(), foreign), bundle, { expectedSpiffeId: ME }),
      ),
    ).toBe('unknown-key');
    const other = `spiffe://${TD}/gw/gcp/gcp-1`;
    expect(await reason(verifyNotification(signed, bundle, { expectedSpiffeId: other }))).toBe(
      'wrong-gateway',
    );
    const same = await refusal(
      verifyNotification(signed, bundle, { expectedSpiffeId: ME, appliedVersion: snapshot.version }),
    );
    expect([same.reason, same.unchanged]).toStrictEqual(['stale-version', true]);
    const [h, , s] = signed.split('.');
    const tampered = `${h}.${b64({ ...note(), version: '9999999999999-000000-local' })}.${s}`;
    expect(await reason(verifyNotification(tampered, bundle, { expectedSpiffeId: ME }))).toBe('signature');
  });
});
