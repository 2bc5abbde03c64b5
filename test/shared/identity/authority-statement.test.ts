/**
 * Authority statements as signed manifests: after rotations (three
 * intermediates, three JWT keys kept until they expire) the statement is
 * larger than a KMS key signs, yet its issuer, held to the KMS limit, signs
 * it; a peer binds the whole content, and refuses it tampered or swapped.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUTHORITY_JWS_TYPE,
  verifyAuthorityStatement,
} from '../../../shared/identity/authority-statement.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { contentDigest } from '../../../shared/identity/signed-manifest.js';
import { KMS_MAX_MESSAGE_BYTES, signCompactJws } from '../../../shared/identity/signer.js';
import { toDer } from '../../../shared/identity/x509.js';
import { WeftError } from '../../../shared/model/errors.js';

const TD = 'acme.test';
let ca: MeshCa;
let before: string;
let statement: string;

const split = (text: string) => {
  const end = text.indexOf('\n');
  return { manifest: text.slice(0, end), content: text.slice(end + 1) };
};
const decoded = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString());
const verify = (text: string) =>
  verifyAuthorityStatement(text, ca.root, { trustDomain: TD, now: new Date() });

beforeAll(async () => {
  ca = await MeshCa.open({
    trustDomain: TD,
    store: new MemoryCaStore(),
    keys: new MemoryKeyRing({ maxMessageBytes: KMS_MAX_MESSAGE_BYTES }),
    providers: ['aws'],
  });
  before = await ca.authorityStatement('aws');
  for (let i = 0; i < 2; i++) {
    await ca.rotateIntermediate('aws');
    await ca.rotateJwtKey('aws');
  }
  statement = await ca.authorityStatement('aws');
});

describe('an authority statement after rotations', () => {
  it('names content larger than a KMS key signs, and its issuer signs only the small manifest', async () => {
    const { manifest, content } = split(statement);
    const listed = JSON.parse(content);
    expect(listed.intermediates).toHaveLength(3);
    expect(listed.jwtKeys).toHaveLength(3);
    expect(Buffer.byteLength(content)).toBeGreaterThan(KMS_MAX_MESSAGE_BYTES / 2);
    const [header, payload] = manifest.split('.');
    expect(decoded(header!)).toMatchObject({ alg: 'ES256', typ: AUTHORITY_JWS_TYPE });
    expect(decoded(payload!)).toStrictEqual({
      iss: 'aws',
      trustDomain: TD,
      sequence: ca.authoritySequence,
      iat: expect.any(Number),
      sha256: contentDigest(content),
    });
    expect(manifest.lastIndexOf('.')).toBeLessThan(KMS_MAX_MESSAGE_BYTES / 2);
    // The same claims as one JWS, as statements were signed before: more than the key signs.
    const issuer = await ca.issuer('aws');
    const x5c = [Buffer.from(toDer(issuer.certificate)).toString('base64')];
    const whole = signCompactJws(
      issuer.signer,
      { typ: AUTHORITY_JWS_TYPE, x5c },
      JSON.stringify({ ...decoded(payload!), sha256: undefined, ...listed }),
    );
    await expect(whole).rejects.toThrow(WeftError);
    await expect(whole).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('verifies against the root, with every intermediate and key it lists', async () => {
    const peer = await verify(statement);
    expect(peer).toMatchObject({ provider: 'aws', sequence: ca.authoritySequence, statement });
    expect(peer.intermediates).toHaveLength(3);
    expect(peer.jwtKeys.map((k) => k.kid).sort()).toEqual(
      ca
        .jwtAuthorities()
        .map((k) => k.kid)
        .sort(),
    );
  });

  it('refuses its content tampered, by one byte or by an intermediate dropped', async () => {
    const { manifest, content } = split(statement);
    const at = content.indexOf('"notAfter":"') + '"notAfter":"'.length + 3;
    const oneByte = `${content.slice(0, at)}${content[at] === '1' ? '2' : '1'}${content.slice(at + 1)}`;
    await expect(verify(`${manifest}\n${oneByte}`)).rejects.toThrow(/not the one it names/);
    const listed = JSON.parse(content);
    const fewer = JSON.stringify({ ...listed, intermediates: listed.intermediates.slice(1) });
    await expect(verify(`${manifest}\n${fewer}`)).rejects.toThrow(/not the one it names/);
  });

  it('refuses the manifest of one statement with the content of another', async () => {
    const now = split(statement);
    const earlier = split(before);
    await expect(verify(`${now.manifest}\n${earlier.content}`)).rejects.toThrow(/not the one it names/);
    await expect(verify(`${earlier.manifest}\n${now.content}`)).rejects.toThrow(/not the one it names/);
  });

  it('refuses the manifest alone, and a changed manifest', async () => {
    const { manifest, content } = split(statement);
    await expect(verify(manifest)).rejects.toThrow(/not a signed manifest/);
    const [h, p, s] = manifest.split('.');
    const later = Buffer.from(JSON.stringify({ ...decoded(p!), sequence: 999 })).toString('base64url');
    await expect(verify(`${h}.${later}.${s}\n${content}`)).rejects.toThrow(/signature or the claims/);
  });
});
