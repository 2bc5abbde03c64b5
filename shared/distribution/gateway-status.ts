/**
 * What a gateway agent reports after each apply (docs/distribution.md §3),
 * kept as `status/<environment>/<name>.json` in the blob store, and what the
 * convergence count reads back.
 *
 * @module
 */
import * as z from 'zod';
import { MalformedError, PayloadTooLargeError, ValidationError } from '../model/errors.js';
import { parseHlc } from '../model/hlc.js';
import { toFieldIssues } from '../model/resource.js';
import type { BlobStore } from '../storage/blob-store.js';
import { statusBlobKey } from './snapshot-blobs.js';

/**
 * The body of `POST /v1/gateways/{env}/{name}/status`. `null` and absent
 * both say "none yet". Unknown fields are dropped, so newer agents still report.
 */
export const statusReportSchema = z.object({
  appliedVersion: z
    .string()
    .refine((v) => parseHlc(v) !== undefined, 'must be a snapshot version (HLC)')
    .nullish()
    .describe('The version of the snapshot the agent runs; null before its first'),
  appliedHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest')
    .nullish()
    .describe('The hash of that snapshot'),
  refused: z
    .int()
    .min(0)
    .max(2 ** 31)
    .nullish()
    .describe('Snapshots refused since the agent started'),
  x509ExpiresAt: z.iso.datetime({ offset: true }).nullish().describe('When its X.509-SVID expires, RFC 3339'),
});

/** A report as stored: what was `null` is left out. */
export interface StatusReport {
  readonly appliedVersion?: string;
  readonly appliedHash?: string;
  readonly refused?: number;
  readonly x509ExpiresAt?: string;
}

/** Largest status report: four short fields fit many times over. */
export const MAX_STATUS_BYTES = 8 * 1024;

/**
 * Parses a status report body (JSON text).
 *
 * @throws PayloadTooLargeError past 8 KiB; MalformedError for no or unparseable JSON; ValidationError naming each bad field.
 */
export function parseStatusReport(body: string | undefined): StatusReport {
  if (body !== undefined && Buffer.byteLength(body, 'utf8') > MAX_STATUS_BYTES)
    throw new PayloadTooLargeError(`a status report is at most ${MAX_STATUS_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch (error) {
    throw new MalformedError('a status report is a JSON object', { cause: error });
  }
  const parsed = statusReportSchema.safeParse(value);
  if (parsed.success) {
    return Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== null && v !== undefined));
  }
  const issues = toFieldIssues(parsed.error);
  throw new ValidationError(`${issues[0]?.pointer || 'body'}: ${issues[0]?.detail ?? 'invalid'}`, issues);
}

/** A stored report: what the agent said, who it is, and when it said it. */
export interface GatewayStatus extends StatusReport {
  /** The SPIFFE ID the report was authenticated as. */
  readonly gateway: string;
  /** RFC 3339, by the control plane's clock. */
  readonly reportedAt: string;
}

/** Stores `status` for `gateway` (`<environment>/<name>`), replacing the last one. */
export async function writeGatewayStatus(
  blobs: BlobStore,
  gateway: string,
  status: GatewayStatus,
): Promise<void> {
  await blobs.put(statusBlobKey(gateway), `${JSON.stringify(status)}\n`);
}

/** The last report of `gateway`, or `undefined` when it never reported (or the blob is unreadable). */
export async function readGatewayStatus(
  blobs: BlobStore,
  gateway: string,
): Promise<GatewayStatus | undefined> {
  const blob = await blobs.get(statusBlobKey(gateway));
  if (!blob) return undefined;
  try {
    return JSON.parse(blob.body) as GatewayStatus;
  } catch {
    return undefined;
  }
}
