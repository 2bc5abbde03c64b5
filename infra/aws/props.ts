/**
 * The configuration of `WeftControlPlane`, and its checks: bad props fail at
 * construction, each one named, not at the first request.
 *
 * @module
 */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';

/** One peer cloud the relay posts to and whose relay key ingest trusts. */
export interface WeftPeer {
  /** The peer's cloud: `gcp`, `azure`, ... */
  readonly cloud: string;
  /** The peer's API base URL (https). */
  readonly url: string;
  /** The peer's relay public keys, JWKs with `kid`. */
  readonly keys: readonly Readonly<Record<string, unknown>>[];
}

/** Configuration of `WeftControlPlane`. */
export interface WeftControlPlaneProps {
  /**
   * Names the bus (`weft-<name>`), the KMS alias prefix (`alias/weft/<name>/`) and the value of
   * the `weft:control-plane` tag. Lower-case letters, digits and `-`, at most 32 characters.
   * @default the construct id in lower case
   */
  readonly name?: string;
  /** The `iss` of operator tokens (OIDC). */
  readonly operatorIssuer: string;
  /** The `aud` operator tokens must carry. */
  readonly operatorAudience: string;
  /** The https URL of the issuer's JWKS. */
  readonly operatorJwksUrl: string;
  /** @default [] (no replication) */
  readonly peers?: readonly WeftPeer[];
  /**
   * The Environment a tag-registered Workload is in when it has no `weft:environment` tag.
   * @default `aws-<region>`
   */
  readonly defaultEnvironment?: string;
  /**
   * A federated mesh's root certificate (PEM; its key stays offline with the
   * operator). The CA then holds only its own intermediate, installed through
   * the API (`weft ca csr --server`, `weft ca sign`, `weft ca install --server`).
   * @default none: the CA makes its own root, its key in KMS (a single-cloud mesh)
   */
  readonly rootCertPem?: string;
  /** DynamoDB deletion protection on the state table. @default true */
  readonly deletionProtection?: boolean;
  /** What happens to the table, the buckets and the relay key when the stack goes. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Retention of every log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** X-Ray active tracing on every function. @default false */
  readonly tracing?: boolean;
  /** How often `sweep` republishes and runs anti-entropy. @default Duration.minutes(1) */
  readonly sweepInterval?: Duration;
  /** How often `reconcile` repairs tag registrations. @default Duration.minutes(15) */
  readonly reconcileInterval?: Duration;
  /** HTTP API throttling of the default stage. @default 50 requests/s, bursts of 100 */
  readonly throttle?: apigwv2.ThrottleSettings;
  /**
   * A customer managed key for the table, the state bucket and the dead-letter queues.
   * @default AWS-managed (DynamoDB), S3-managed (S3) and SQS-managed (SQS) encryption
   */
  readonly dataKey?: kms.IKey;
  /** How long old versions of state objects are kept. @default Duration.days(30) */
  readonly noncurrentVersionExpiration?: Duration;
  /** The repository the functions are bundled from. @default the repository holding this file */
  readonly projectRoot?: string;
}

/** @throws TypeError unless `name` can name a bus, an alias and a tag value. */
export function checkName(name: string): string {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/.test(name)) {
    throw new TypeError(
      `WeftControlPlane name ${JSON.stringify(name)} must be lower-case letters, digits and '-', ` +
        'at most 32 characters: pass props.name',
    );
  }
  return name;
}

/** @throws TypeError naming every bad operator setting and peer. */
export function checkProps(props: WeftControlPlaneProps): void {
  const problems: string[] = [];
  for (const key of ['operatorIssuer', 'operatorJwksUrl'] as const) {
    if (!/^https:\/\/[^\s]+$/.test(props[key] ?? '')) problems.push(`${key} must be an https URL`);
  }
  if (!props.operatorAudience) problems.push('operatorAudience is required');
  for (const [i, peer] of (props.peers ?? []).entries()) {
    if (!peer.cloud) problems.push(`peers[${i}].cloud is required`);
    if (!/^https:\/\/[^\s]+$/.test(peer.url ?? '')) problems.push(`peers[${i}].url must be an https URL`);
    if (!Array.isArray(peer.keys) || peer.keys.some((k) => typeof k?.kid !== 'string')) {
      problems.push(`peers[${i}].keys must be JWKs with kid`);
    }
  }
  if (props.rootCertPem !== undefined && !props.rootCertPem.includes('-----BEGIN CERTIFICATE-----'))
    problems.push('rootCertPem must be a PEM certificate');
  if (problems.length > 0) throw new TypeError(`WeftControlPlane: ${problems.join('; ')}`);
}
