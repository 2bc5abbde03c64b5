/**
 * The local host's operator identity provider: an ES256 key created on first
 * start under the data directory (mode 0600), and admin tokens signed by it.
 * In a cloud, operators bring tokens from their own OIDC issuer instead.
 *
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import type { OperatorRole } from '../../shared/api/operator-auth.js';

export const LOCAL_ISSUER = 'weft-local';
export const LOCAL_AUDIENCE = 'weft-api';

export interface OperatorKey {
  /** The public JWKS operator tokens are verified against. */
  readonly jwks: { keys: JWK[] };
  /** Signs an operator token for `subject` with `role`. */
  mint(subject: string, role: OperatorRole, ttlSeconds?: number): Promise<string>;
}

/** Loads `DIR/operator-key.jwk`, creating it (0600) when missing. */
export async function loadOperatorKey(dataDir: string): Promise<OperatorKey> {
  const file = join(dataDir, 'operator-key.jwk');
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: `local-${Date.now().toString(36)}` };
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFile(file, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
  }
  return operatorKeyFrom(privateJwk);
}

/** An in-memory operator key, for tests and benchmarks. */
export async function createOperatorKey(): Promise<OperatorKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return operatorKeyFrom({ ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'ephemeral' });
}

async function operatorKeyFrom(privateJwk: JWK): Promise<OperatorKey> {
  const { d: _d, ...publicJwk } = privateJwk;
  const key = await importJWK(privateJwk, 'ES256');
  return {
    jwks: { keys: [{ ...publicJwk, use: 'sig' }] },
    mint: (subject, role, ttlSeconds = 30 * 24 * 3600) =>
      new SignJWT({ role })
        .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid ?? 'local', typ: 'JWT' })
        .setSubject(subject)
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key),
  };
}
