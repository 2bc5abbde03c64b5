/**
 * The names the AWS functions and their deployment (infra/aws) agree on:
 * environment variables, the EventBridge source of weft's events and the
 * tag that marks a control plane's resources. Here, beside the functions
 * that read them, so the functions never import the deployment.
 *
 * @module
 */

/**
 * Environment variables the functions read (functions/aws/composition.ts
 * checks them all at a cold start and names every one missing).
 */
export const WEFT_ENV = {
  table: 'WEFT_TABLE_NAME',
  bucket: 'WEFT_BUCKET_NAME',
  bus: 'WEFT_EVENT_BUS_NAME',
  /** KMS alias prefix under which the CA's keys are created on first use: `alias/weft/<id>`. */
  kmsAliasPrefix: 'WEFT_KMS_ALIAS_PREFIX',
  /** Value of the `weft:control-plane` tag on keys the CA creates (what IAM conditions match). */
  kmsKeyTag: 'WEFT_KMS_KEY_TAG',
  /** ARN of the relay key the construct creates. */
  relayKey: 'WEFT_RELAY_KEY_ARN',
  /** Peer clouds as JSON: `[{"cloud","url","keys":[JWK with kid]}]`; unset or `[]`: no replication. */
  peers: 'WEFT_PEERS',
  /** The Environment a tag-registered Workload is in when it has no `weft:environment` tag. */
  defaultEnvironment: 'WEFT_DEFAULT_ENVIRONMENT',
  /** A federated mesh's root certificate (PEM); unset: the CA keeps its own root in KMS. */
  rootCert: 'WEFT_ROOT_CERT',
  operatorIssuer: 'WEFT_OPERATOR_ISSUER',
  operatorAudience: 'WEFT_OPERATOR_AUDIENCE',
  operatorJwksUrl: 'WEFT_OPERATOR_JWKS_URL',
} as const;

/** The EventBridge `source` of events weft publishes in this cloud (`aws.*` is AWS's own). */
export const WEFT_EVENT_SOURCE = 'dev.weft.aws';
/** The tag whose value marks a KMS key (and other resources) as this control plane's. */
export const WEFT_CONTROL_PLANE_TAG = 'weft:control-plane';
