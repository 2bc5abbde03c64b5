/**
 * How the agent gets its first identity: from the data directory when a
 * previous run left a valid X.509-SVID there (a restart needs no join token,
 * and none is spent), else by attesting with the one-time join token, or with
 * the AWS IAM role it runs as (`aws-iam-proof.ts`, signed afresh for each
 * try). While the control plane cannot be reached the join token is unspent,
 * so that is retried with backoff; a refusal is final and says what to do.
 *
 * @module
 */
import { type ParsedBundle, parseBundle } from '../../shared/identity/bundle.js';
import { Backoff, sleep } from '../../shared/model/backoff.js';
import { AwsIamAttestationError, type AwsIamProofOptions, createAwsIamProof } from './aws-iam-proof.js';
import type { AttestationEvidence, ControlPlaneApi, GatewayPath } from './control-plane-client.js';
import type { DataFiles } from './data-files.js';
import { ControlPlaneRefusedError, ControlPlaneUnavailableError, JoinTokenNeededError } from './errors.js';
import { type Logger, reason } from './log.js';
import { type CheckedSvid, checkSvid, gatewayIdPath, leafTrustDomain } from './svid-check.js';
import { newSvidKey } from './svid-key.js';
import { loadSvid, saveBundle, saveSvid } from './svid-store.js';

/** A usable identity, ready to be put into service. */
export interface Identity {
  readonly keyPem: string;
  readonly certChain: readonly string[];
  readonly bundle: ParsedBundle;
  readonly bundleJson: string;
  readonly svid: CheckedSvid;
}

/** Options of {@link bootstrapIdentity}. */
export interface BootstrapOptions {
  readonly client: ControlPlaneApi;
  readonly files: DataFiles;
  readonly gateway: GatewayPath;
  readonly joinToken: string | undefined;
  /** Attest with the AWS IAM role instead of a join token. @default none: the join token */
  readonly awsIam?: AwsIamProofOptions;
  readonly logger: Logger;
  readonly now: () => number;
  /** Stops retrying attestation (shutdown during start-up). */
  readonly signal?: AbortSignal;
  /** @default 1 s doubling to 30 s */
  readonly retry?: { readonly baseMs: number; readonly capMs: number };
}

/**
 * The stored identity if it is still good, else a new one from the join token
 * (or the AWS IAM role).
 *
 * @throws JoinTokenNeededError when neither works, saying why and how to fix it;
 *   AwsIamAttestationError with `awsIam`, when there are no credentials or the proof is refused.
 */
export async function bootstrapIdentity(options: BootstrapOptions): Promise<Identity> {
  const { files, gateway, joinToken, awsIam, logger } = options;
  const canAttest = Boolean(awsIam || joinToken);
  const stored = await loadSvid(files);
  let trustDomain = '<trust-domain>';
  if (stored) {
    try {
      const bundle = parseBundle(stored.bundleJson);
      const svid = await checkSvid(stored.keyPem, stored.certChain, bundle, gateway, new Date(options.now()));
      if (joinToken && !awsIam)
        logger.info('the stored X.509-SVID is valid: the join token was not used (it stays unspent)');
      logger.info(
        { spiffeId: svid.spiffeId, expiresAt: svid.expiresAt },
        'identity loaded from the data directory',
      );
      return { ...stored, bundle, svid };
    } catch (error) {
      if (!(error instanceof JoinTokenNeededError)) throw error;
      trustDomain = leafTrustDomain(stored.certChain) ?? trustDomain;
      if (!canAttest)
        throw new JoinTokenNeededError(`${error.message} (in ${files.dir}); ${remedy(trustDomain, gateway)}`);
      logger.warn(
        { why: error.message },
        `the stored X.509-SVID is unusable; attesting with ${methodName(options)}`,
      );
    }
  }
  if (!canAttest) {
    throw new JoinTokenNeededError(
      `no identity in ${files.dir} and no join token; ${remedy(trustDomain, gateway)}`,
    );
  }
  return attest(options, trustDomain);
}

const methodName = (options: BootstrapOptions) => (options.awsIam ? 'the AWS IAM role' : 'the join token');

async function attest(options: BootstrapOptions, trustDomain: string): Promise<Identity> {
  const { client, files, gateway, logger, signal, awsIam } = options;
  const backoff = new Backoff(options.retry ?? { baseMs: 1_000, capMs: 30_000 });
  for (;;) {
    const key = await newSvidKey();
    try {
      // A proof is signed for each try: STS wants it fresh, and the control plane takes each one once.
      const evidence: AttestationEvidence = awsIam ? await createAwsIamProof(awsIam) : options.joinToken!;
      const issued = await client.attest(evidence, key.csrPem);
      const bundleJson = JSON.stringify(issued.bundle);
      const bundle = parseBundle(bundleJson);
      const svid = await checkSvid(
        key.keyPem,
        issued.x509Svid.certChain,
        bundle,
        gateway,
        new Date(options.now()),
      );
      // Bundle first: a key and chain on disk without their bundle would not load.
      await saveBundle(files, bundleJson);
      await saveSvid(files, key.keyPem, issued.x509Svid.certChain);
      logger.info(
        { spiffeId: svid.spiffeId, expiresAt: svid.expiresAt },
        `attested with ${methodName(options)}`,
      );
      return { keyPem: key.keyPem, certChain: issued.x509Svid.certChain, bundle, bundleJson, svid };
    } catch (error) {
      if (error instanceof ControlPlaneRefusedError) {
        if (awsIam) {
          const id = `${awsIam.audience}${gatewayIdPath(gateway)}`;
          throw new AwsIamAttestationError(
            `the control plane refused the AWS IAM proof: ${error.message}; the Mesh needs spec.attestation.aws: [{accountId, roleName, spiffeId: ${id}}] for this role, and --trust-domain must be the Mesh's`,
            { cause: error },
          );
        }
        throw new JoinTokenNeededError(
          `the control plane refused the join token: ${error.message}; ${remedy(trustDomain, gateway)}`,
          { cause: error },
        );
      }
      if (!(error instanceof ControlPlaneUnavailableError)) throw error;
      const delay = error.retryAfterMs ?? backoff.next();
      logger.warn({ why: reason(error), retryInMs: delay }, 'cannot attest yet; retrying');
      await sleep(delay, signal);
      signal?.throwIfAborted();
    }
  }
}

/** What an operator does about it. */
export function remedy(trustDomain: string, gateway: GatewayPath): string {
  const id = `spiffe://${trustDomain}${gatewayIdPath(gateway)}`;
  return `a new join token is needed: weft token create --spiffe-id ${id}, then start the agent with --join-token (or WEFT_JOIN_TOKEN)`;
}
