/**
 * `dev.weft.resource.replicated`: one stored write (delete included) as a
 * relay event from the cloud that made it to a peer cloud. The CloudEvent
 * envelope is only the bus's wrapping; what counts is `data`, a signed
 * manifest (`identity/signed-manifest.ts`, `datacontenttype`
 * `application/vnd.weft.signed-manifest`): a compact JWS (`typ:
 * weft-relay+jws`, ES256) signed by the origin cloud's relay key, whose
 * small payload names the stored record by its SHA-256, then a newline and
 * the record's JSON:
 *
 * ```
 * <JWS: { "iss": "aws", "aud": "weft-relay", "iat": 1700000000, "exp": 1700003600,
 *         "jti": "…", "sha256": "<base64url SHA-256 of the record JSON>" }>
 * { "key": {…}, "version": "…", "origin": "aws", "updatedAt": "…", "resource": {…} | null }
 * ```
 *
 * The relay key may be a KMS key, which signs at most 4 KiB: a record is
 * as large as its resource, so it is never in what is signed.
 *
 * A peer trusts nothing in the envelope: the record, who signed it and when
 * all come from the verified manifest and the content it names
 * (docs/replication.md, "Relay events").
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import * as z from 'zod';
import type { JwsSigningKey } from '../contract/signed-jws.js';
import { CLOUDEVENTS_SPEC_VERSION, type CloudEvent, parseCloudEvent } from '../events/cloud-event.js';
import { hlcVersionSchema, originSchema, resourceKeySchema } from '../events/resource-changed.js';
import {
  namesContent,
  SIGNED_MANIFEST_MEDIA_TYPE,
  signManifest,
  splitManifest,
} from '../identity/signed-manifest.js';
import { ValidationError, WeftError } from '../model/errors.js';
import { formatKey, type ResourceKey } from '../model/kinds.js';
import { keyOf, parseResource, type Resource } from '../model/resource.js';
import type { StoredRecord } from '../storage/state-store.js';
import { type Federation, peerKey, relayVerifyKey } from './federation.js';

/** The CloudEvents `type` of a relayed write. */
export const RESOURCE_REPLICATED = 'dev.weft.resource.replicated';
/** The JWS `typ` of its `data`'s manifest. */
export const RELAY_JWS_TYPE = 'weft-relay+jws';
/** The `aud` every relay event carries. */
export const RELAY_AUDIENCE = 'weft-relay';
/** How long a relay event may be delivered after it was signed; anti-entropy repairs past it. */
export const RELAY_EVENT_TTL_MS = 3_600_000;
/** How far a peer's clock may run ahead of ours before its `iat` is refused. */
export const RELAY_CLOCK_SKEW_MS = 60_000;

/**
 * Why a relay event was refused:
 * - `malformed`: not a CloudEvent of this type, not a signed manifest with an ES256 JWS of this `typ`, or a payload or record that is not valid;
 * - `unknown-key`: its `kid` is no peer's relay key, or the key is not the `iss` cloud's;
 * - `signature`: the signature does not verify, or the record is not the one it names;
 * - `expired`: past its `exp`, or issued in the future;
 * - `own-origin`: signed as this cloud, or carrying a write this cloud made;
 * - `replay`: its `jti` was ingested before.
 */
export type RelayRefusal = 'malformed' | 'unknown-key' | 'signature' | 'expired' | 'own-origin' | 'replay';

const STATUS: Readonly<Record<RelayRefusal, number>> = {
  malformed: 400,
  'unknown-key': 403,
  signature: 403,
  expired: 422,
  'own-origin': 422,
  replay: 409,
};

/** A relay event an ingest must not merge; `reason` says why. */
export class RelayRefusedError extends WeftError {
  readonly reason: RelayRefusal;

  constructor(reason: RelayRefusal, message: string, options?: { cause?: unknown }) {
    super(
      reason === 'replay' ? 'ERR_CONFLICT' : 'ERR_VALIDATION',
      STATUS[reason],
      `${reason}: ${message}`,
      options,
    );
    this.name = 'RelayRefusedError';
    this.reason = reason;
  }
}

/** What a verified relay event says. */
export interface VerifiedRelay {
  /** The cloud that signed it (and made the write). */
  readonly from: string;
  readonly jti: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly record: StoredRecord;
}

/**
 * The relay event of one stored write, signed by `self`'s relay key.
 *
 * @example
 * await fetch(`${peer.url}/v1/replication/events`, { method: 'POST', body: JSON.stringify(await relayEvent(record, fed)) });
 */
export async function relayEvent(
  record: StoredRecord,
  self: { readonly cloud: string; readonly signingKey: JwsSigningKey },
  now: number = Date.now(),
): Promise<CloudEvent<string>> {
  const iat = Math.floor(now / 1000);
  const claims = {
    iss: self.cloud,
    aud: RELAY_AUDIENCE,
    iat,
    exp: iat + RELAY_EVENT_TTL_MS / 1000,
    jti: randomUUID(),
  };
  const data = await signManifest(
    self.signingKey.signer,
    { kid: self.signingKey.kid, typ: RELAY_JWS_TYPE },
    claims,
    JSON.stringify(record),
  );
  const subject = formatKey(record.key);
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: `${subject}@${record.version}`,
    source: `/weft/${self.cloud}`,
    type: RESOURCE_REPLICATED,
    time: new Date(now).toISOString(),
    subject,
    datacontenttype: SIGNED_MANIFEST_MEDIA_TYPE,
    data,
  };
}

const recordSchema = z.strictObject({
  key: resourceKeySchema,
  version: hlcVersionSchema,
  origin: originSchema,
  updatedAt: z.iso.datetime({ offset: true }),
  resource: z.unknown(),
});
const claimsSchema = z.object({
  iss: originSchema,
  aud: z.literal(RELAY_AUDIENCE),
  iat: z.int().nonnegative(),
  exp: z.int().nonnegative(),
  // A blob-key segment: the ingest keeps the jtis it saw under their own names.
  jti: z.string().regex(/^[A-Za-z0-9_-]{8,128}$/),
  sha256: z.string(),
});

/**
 * Verifies a relay event that arrived from outside: the envelope, the JWS
 * (`kid` a peer's key, and that peer the `iss`), the time window, that it
 * is not this cloud's own, and that the record is one this API would store.
 * Replays are the ingest's to catch (it holds the seen `jti`s).
 *
 * @throws RelayRefusedError saying why.
 */
export async function verifyRelayEvent(
  input: unknown,
  federation: Federation,
  now: number = Date.now(),
): Promise<VerifiedRelay> {
  let event: CloudEvent;
  try {
    event = parseCloudEvent(input);
  } catch (cause) {
    throw new RelayRefusedError('malformed', (cause as Error).message, { cause });
  }
  if (event.type !== RESOURCE_REPLICATED)
    throw new RelayRefusedError('malformed', `a ${event.type}, not a ${RESOURCE_REPLICATED}`);
  const parts = splitManifest(event.data);
  if (!parts) throw new RelayRefusedError('malformed', 'data is not a signed manifest with its record');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(parts.jws);
  } catch (cause) {
    throw new RelayRefusedError('malformed', 'the JWS header is not readable', { cause });
  }
  if (header.alg !== 'ES256' || header.typ !== RELAY_JWS_TYPE)
    throw new RelayRefusedError('malformed', `alg ${String(header.alg)}, typ ${String(header.typ)}`);
  if (header.kid === federation.signingKey.kid)
    throw new RelayRefusedError('own-origin', 'signed with this cloud’s own relay key');
  const found = peerKey(federation, header.kid);
  if (!found)
    throw new RelayRefusedError('unknown-key', `kid ${JSON.stringify(header.kid)} is no peer's relay key`);
  let payload: unknown;
  try {
    const verified = await compactVerify(parts.jws, await relayVerifyKey(found.key), {
      algorithms: ['ES256'],
    });
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch (cause) {
    throw new RelayRefusedError(
      'signature',
      `does not verify with ${found.peer.cloud}'s key ${found.key.kid}`,
      {
        cause,
      },
    );
  }
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success)
    throw new RelayRefusedError(
      'malformed',
      `the payload is not a relay event: ${parsed.error.issues[0]?.message}`,
    );
  const claims = parsed.data;
  if (claims.iss !== found.peer.cloud)
    throw new RelayRefusedError(
      'unknown-key',
      `key ${found.key.kid} is ${found.peer.cloud}'s, not ${claims.iss}'s`,
    );
  if (claims.iss === federation.self)
    throw new RelayRefusedError('own-origin', `a write ${federation.self} made itself`);
  if (claims.exp * 1000 <= now)
    throw new RelayRefusedError('expired', `expired at ${new Date(claims.exp * 1000).toISOString()}`);
  if (claims.iat * 1000 > now + RELAY_CLOCK_SKEW_MS || claims.exp - claims.iat > RELAY_EVENT_TTL_MS / 1000)
    throw new RelayRefusedError(
      'expired',
      'issued in the future, or valid for longer than a relay event may be',
    );
  // Only a record the key vouched for is parsed.
  if (!namesContent(claims, parts.content))
    throw new RelayRefusedError('signature', `the record is not the one ${claims.iss} signed`);
  const record = parseRecord(parts.content);
  if (record.origin === federation.self)
    throw new RelayRefusedError('own-origin', `a write ${federation.self} made itself`);
  if (record.origin !== claims.iss)
    throw new RelayRefusedError(
      'malformed',
      `${claims.iss} relays only its own writes, not ${record.origin}'s`,
    );
  return {
    from: claims.iss,
    jti: claims.jti,
    expiresAt: claims.exp * 1000,
    record: checkedRecord(record),
  };
}

function parseRecord(content: string): z.infer<typeof recordSchema> {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (cause) {
    throw new RelayRefusedError('malformed', 'the record is not JSON', { cause });
  }
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success)
    throw new RelayRefusedError('malformed', `the record is not valid: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * A record from another cloud, checked as the API checks a write: a live
 * one's document must validate and name the record's key.
 *
 * @throws RelayRefusedError `malformed` otherwise.
 */
export function checkedRecord(record: z.infer<typeof recordSchema>): StoredRecord {
  const key: ResourceKey = record.key;
  if (record.resource === null) return { ...record, key, resource: null };
  let resource: Resource;
  try {
    resource = parseResource(record.resource);
  } catch (cause) {
    const detail = cause instanceof ValidationError ? cause.message : String(cause);
    throw new RelayRefusedError('malformed', `the document of ${formatKey(key)} is invalid: ${detail}`, {
      cause,
    });
  }
  const named = keyOf(resource);
  if (named.kind !== key.kind || named.namespace !== key.namespace || named.name !== key.name)
    throw new RelayRefusedError('malformed', `the document names ${formatKey(named)}, not ${formatKey(key)}`);
  // Stored as the origin stored it; parsing only proved it valid.
  return { ...record, key, resource: record.resource as Resource };
}

/** The schema of a stored record from another cloud (relay events, anti-entropy pages). */
export { recordSchema as storedRecordSchema };
