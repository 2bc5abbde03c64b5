import { beforeAll, describe, expect, it } from 'vitest';
import { compileSnapshots } from '../../../shared/compiler/compile.js';
import { meshStateFrom } from '../../../shared/compiler/mesh-state.js';
import { canonicalSnapshotJson } from '../../../shared/contract/canonical.js';
import { type RefusalReason, SnapshotRefusedError } from '../../../shared/contract/signed-jws.js';
import { signNotification, verifyNotification } from '../../../shared/contract/signed-notification.js';
import {
  peekSnapshot,
  readSnapshot,
  signSnapshot,
  verifySnapshot,
} from '../../../shared/contract/signed-snapshot.js';
import type { GatewaySnapshot } from '../../../shared/contract/snapshot.js';
import type { ParsedBundle } from '../../../shared/identity/bundle.js';
import type { JwtSigningKey } from '../../../shared/identity/ca.js';
import { contentDigest, signManifest } from '../../../shared/identity/signed-manifest.js';
import { signCompactJws } from '../../../shared/identity/signer.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { memoryCa, meshDocs, TD, writer } from '../../support/distribution.js';

const ME = `spiffe://${TD}/gw/aws/aws-1`;
let key: JwtSigningKey;
let bundle: ParsedBundle;
let foreign: JwtSigningKey;
let snapshot: GatewaySnapshot;
/** aws-2's snapshot of the same mesh: the other half of a swap. */
let other: GatewaySnapshot;
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
  other = result.snapshots.get('aws/aws-2')!;
  jws = await signSnapshot(snapshot, key);
});

/** A signed snapshot's two parts: the manifest JWS (its first line) and the content. */
function parts(text: string): { manifest: string; content: string } {
  const end = text.indexOf('\n');
  expect(end).toBeGreaterThan(0);
  return { manifest: text.slice(0, end), content: text.slice(end + 1) };
}

const decoded = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString());

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
    expect(readSnapshot(jws)).toStrictEqual(JSON.parse(JSON.stringify(snapshot)));
    const { manifest, content } = parts(jws);
    const [header, payload] = manifest.split('.');
    expect(decoded(header!)).toMatchObject({ alg: 'ES256', typ: 'weft-snapshot+jws', kid: key.kid });
    // The manifest names the content; the content is the canonical snapshot, never in what is signed.
    expect(decoded(payload!)).toStrictEqual({
      gateway: ME,
      version: snapshot.version,
      hash: snapshot.hash,
      sha256: contentDigest(content),
    });
    expect(content).toBe(canonicalSnapshotJson(snapshot));
    expect(manifest.length).toBeLessThan(1024);
  });

  it('accepts a strictly newer version than the applied one', async () => {
    const older = '0000000000001-000000-local';
    const verified = await verifySnapshot(jws, bundle, { expectedSpiffeId: ME, appliedVersion: older });
    expect(verified.version).toBe(snapshot.version);
  });

  it('refuses tampered content (hash), even changed by one byte', async () => {
    const { manifest, content } = parts(jws);
    const opened = canonicalSnapshotJson({ ...snapshot, mesh: { ...snapshot.mesh, defaultAction: 'allow' } });
    expect(opened).not.toBe(content);
    expect(await reason(verifySnapshot(`${manifest}\n${opened}`, bundle, { expectedSpiffeId: ME }))).toBe(
      'hash',
    );
    const at = content.indexOf(snapshot.gateway.spiffeId) + snapshot.gateway.spiffeId.length - 1;
    const oneByte = `${content.slice(0, at)}${content[at] === '1' ? '2' : '1'}${content.slice(at + 1)}`;
    expect(oneByte).toHaveLength(content.length);
    expect(await reason(verifySnapshot(`${manifest}\n${oneByte}`, bundle, { expectedSpiffeId: ME }))).toBe(
      'hash',
    );
    expect(await reason(verifySnapshot(`${jws} `, bundle, { expectedSpiffeId: ME }))).toBe('hash');
    expect(await reason(verifySnapshot(`${manifest}\n`, bundle, { expectedSpiffeId: ME }))).toBe('hash');
  });

  it('refuses a manifest changed to name other content (signature)', async () => {
    const { manifest } = parts(jws);
    const [h, p, s] = manifest.split('.');
    const opened = canonicalSnapshotJson({ ...snapshot, mesh: { ...snapshot.mesh, defaultAction: 'allow' } });
    const renamed = b64({ ...decoded(p!), sha256: contentDigest(opened) });
    expect(
      await reason(verifySnapshot(`${h}.${renamed}.${s}\n${opened}`, bundle, { expectedSpiffeId: ME })),
    ).toBe('signature');
  });

  it('refuses the manifest of one snapshot with the content of another', async () => {
    const mine = parts(jws);
    const theirs = parts(await signSnapshot(other, key));
    // Addressed to me, carrying aws-2's config: the content is not the one named.
    expect(
      await reason(verifySnapshot(`${mine.manifest}\n${theirs.content}`, bundle, { expectedSpiffeId: ME })),
    ).toBe('hash');
    // aws-2's manifest with my content, whoever verifies it.
    expect(
      await reason(verifySnapshot(`${theirs.manifest}\n${mine.content}`, bundle, { expectedSpiffeId: ME })),
    ).toBe('hash');
    const asOther = { expectedSpiffeId: other.gateway.spiffeId };
    expect(await reason(verifySnapshot(`${theirs.manifest}\n${mine.content}`, bundle, asOther))).toBe('hash');
    // The very manifest applied now, with other content: tampering, not "unchanged".
    const applied = { expectedSpiffeId: ME, appliedVersion: snapshot.version, appliedHash: snapshot.hash };
    const same = await refusal(verifySnapshot(`${mine.manifest}\n${theirs.content}`, bundle, applied));
    expect([same.reason, same.unchanged]).toStrictEqual(['hash', false]);
  });

  it('refuses a key outside the bundle (unknown-key), even with a kid the bundle lists', async () => {
    const byForeign = await signSnapshot(snapshot, foreign);
    expect(await reason(verifySnapshot(byForeign, bundle, { expectedSpiffeId: ME }))).toBe('unknown-key');
    const impostor = await signSnapshot(snapshot, { kid: key.kid, signer: foreign.signer });
    expect(await reason(verifySnapshot(impostor, bundle, { expectedSpiffeId: ME }))).toBe('signature');
  });

  it('refuses another typ, another alg and what is not a signed snapshot (malformed)', async () => {
    const { manifest, content } = parts(jws);
    const notify = await signNotification(
      { gateway: ME, version: snapshot.version, hash: snapshot.hash, iat: 1 },
      key,
    );
    expect(await reason(verifySnapshot(notify, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    expect(await reason(verifySnapshot(`${notify}\n${content}`, bundle, { expectedSpiffeId: ME }))).toBe(
      'malformed',
    );
    const asJwt = await signManifest(key.signer, { kid: key.kid, typ: 'JWT' }, {}, content);
    expect(await reason(verifySnapshot(asJwt, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    const none = `${b64({ alg: 'none', typ: 'weft-snapshot+jws', kid: key.kid })}.${manifest.split('.')[1]}.`;
    expect(await reason(verifySnapshot(`${none}\n${content}`, bundle, { expectedSpiffeId: ME }))).toBe(
      'malformed',
    );
    expect(await reason(verifySnapshot('not a jws', bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    // The manifest alone, and the old form: a whole snapshot in one JWS.
    expect(await reason(verifySnapshot(manifest, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    const header = { kid: key.kid, typ: 'weft-snapshot+jws', version: snapshot.version, hash: snapshot.hash };
    const whole = await signCompactJws(key.signer, header, content);
    expect(await reason(verifySnapshot(whole, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    const array = await signCompactJws(key.signer, { kid: key.kid, typ: 'weft-snapshot+jws' }, '[1]');
    expect(await reason(verifySnapshot(`${array}\n${content}`, bundle, { expectedSpiffeId: ME }))).toBe(
      'malformed',
    );
    // A manifest naming content that is not a snapshot.
    const named = { gateway: ME, version: snapshot.version, hash: snapshot.hash };
    const notSnapshot = await signManifest(key.signer, header, named, '{"kind":"Other"}');
    expect(await reason(verifySnapshot(notSnapshot, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
  });

  it('refuses a header, a manifest and content that disagree (malformed)', async () => {
    const { content } = parts(jws);
    const named = { gateway: ME, version: snapshot.version, hash: snapshot.hash };
    const header = { kid: key.kid, typ: 'weft-snapshot+jws', version: snapshot.version, hash: snapshot.hash };
    const later = '9999999999999-000000-local';
    const lying = await signManifest(key.signer, { ...header, version: later }, named, content);
    expect(await reason(verifySnapshot(lying, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
    // Header and manifest agree, the content says another version.
    const stamped = await signManifest(
      key.signer,
      { ...header, version: later },
      { ...named, version: later },
      content,
    );
    expect(await reason(verifySnapshot(stamped, bundle, { expectedSpiffeId: ME }))).toBe('malformed');
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

  it('peekSnapshot and readSnapshot read nothing from what is not a signed snapshot', () => {
    expect(peekSnapshot('garbage')).toBeUndefined();
    expect(peekSnapshot(`${b64({ typ: 'JWT', kid: 'k', version: 'v', hash: 'h' })}.x.y\n{}`)).toBeUndefined();
    // The header of a snapshot, but no content beside it.
    expect(peekSnapshot(parts(jws).manifest)).toBeUndefined();
    expect(readSnapshot('garbage')).toBeUndefined();
    expect(readSnapshot(`${parts(jws).manifest}\nnot json`)).toBeUndefined();
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
