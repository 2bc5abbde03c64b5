/**
 * A stand-in for a cloud's token issuer (Google, Entra ID): an RS256 key with
 * a kid, its public JWKS, and a signer of ID tokens with chosen claims.
 *
 * @module
 */
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

export interface TokenIssuer {
  readonly kid: string;
  /** The public JWKS to serve. */
  jwks(): { keys: object[] };
  /** Signs `claims`; `iat` defaults to now and `exp` to `iat` + 1 hour. */
  sign(claims: JWTPayload, header?: { alg?: string; kid?: string }): Promise<string>;
}

export async function createTokenIssuer(kid = 'test-key-1'): Promise<TokenIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return {
    kid,
    jwks: () => ({ keys: [jwk] }),
    async sign(claims, header = {}) {
      const iat = claims.iat ?? Math.floor(Date.now() / 1000);
      return new SignJWT({ ...claims, iat, exp: claims.exp ?? iat + 3600 })
        .setProtectedHeader({ alg: header.alg ?? 'RS256', kid: header.kid ?? kid, typ: 'JWT' })
        .sign(privateKey);
    },
  };
}
