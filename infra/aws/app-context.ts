/**
 * The control plane's configuration from CDK context (`-c weft:...=...` or
 * `context` in cdk.json), checked at synth so that a missing value fails
 * there, naming every one, instead of at the first request.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Node } from 'constructs';
import type { WeftControlPlaneProps, WeftPeer } from './weft-control-plane.js';

/** The context keys the app reads. */
export const WEFT_CONTEXT = {
  operatorIssuer: 'weft:operatorIssuer',
  operatorAudience: 'weft:operatorAudience',
  operatorJwksUrl: 'weft:operatorJwksUrl',
  peers: 'weft:peers',
  defaultEnvironment: 'weft:defaultEnvironment',
  deletionProtection: 'weft:deletionProtection',
  name: 'weft:name',
  /** A file holding the federated mesh's root certificate (PEM). */
  rootCert: 'weft:rootCert',
  /** `true`: stand-in operator settings, for a synth that deploys nothing (tests, `npm run synth:aws`). */
  placeholders: 'weft:placeholders',
} as const;

/** Operator settings that authenticate nobody (`.invalid` never resolves): for synth only. */
export const PLACEHOLDER_OPERATOR = {
  operatorIssuer: 'https://issuer.weft.invalid/',
  operatorAudience: 'weft-placeholder',
  operatorJwksUrl: 'https://issuer.weft.invalid/.well-known/jwks.json',
} as const;

/**
 * Reads the control plane's props from context.
 *
 * @throws Error listing every required key that is missing, and how to pass it.
 */
export function controlPlanePropsFromContext(node: Node): WeftControlPlaneProps {
  const text = (key: string): string | undefined => {
    const value: unknown = node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const placeholders = flag(text(WEFT_CONTEXT.placeholders), WEFT_CONTEXT.placeholders) ?? false;
  const operator = {
    operatorIssuer: text(WEFT_CONTEXT.operatorIssuer),
    operatorAudience: text(WEFT_CONTEXT.operatorAudience),
    operatorJwksUrl: text(WEFT_CONTEXT.operatorJwksUrl),
  };
  const missing = (Object.keys(operator) as (keyof typeof operator)[]).filter((k) => !operator[k]);
  if (missing.length > 0 && !placeholders) {
    const keys = missing.map((k) => WEFT_CONTEXT[k]);
    throw new Error(
      `weft: missing CDK context ${keys.join(', ')}: pass ${keys.map((k) => `-c ${k}=...`).join(' ')} ` +
        `(or set them in infra/aws/cdk.json "context"); -c ${WEFT_CONTEXT.placeholders}=true synthesizes ` +
        'with placeholders that authenticate no operator',
    );
  }
  const name = text(WEFT_CONTEXT.name);
  const defaultEnvironment = text(WEFT_CONTEXT.defaultEnvironment);
  const deletionProtection = flag(text(WEFT_CONTEXT.deletionProtection), WEFT_CONTEXT.deletionProtection);
  const rootCertFile = text(WEFT_CONTEXT.rootCert);
  const rootCertPem = rootCertFile && readRootCert(rootCertFile);
  return {
    operatorIssuer: operator.operatorIssuer ?? PLACEHOLDER_OPERATOR.operatorIssuer,
    operatorAudience: operator.operatorAudience ?? PLACEHOLDER_OPERATOR.operatorAudience,
    operatorJwksUrl: operator.operatorJwksUrl ?? PLACEHOLDER_OPERATOR.operatorJwksUrl,
    peers: peersFrom(node.tryGetContext(WEFT_CONTEXT.peers)),
    ...(name && { name }),
    ...(defaultEnvironment && { defaultEnvironment }),
    ...(deletionProtection !== undefined && { deletionProtection }),
    ...(rootCertPem && { rootCertPem }),
  };
}

function readRootCert(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `weft: CDK context ${WEFT_CONTEXT.rootCert}: cannot read ${file} (the mesh root's root.pem)`,
      {
        cause: error,
      },
    );
  }
}

function flag(value: string | undefined, key: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error(`weft: CDK context ${key} must be true or false, not ${JSON.stringify(value)}`);
}

/** `-c` values arrive as strings, cdk.json values as JSON: both are accepted. */
function peersFrom(value: unknown): WeftPeer[] {
  if (value === undefined || value === null || value === '') return [];
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new Error(`weft: CDK context ${WEFT_CONTEXT.peers} is not JSON`, { cause: error });
    }
  }
  if (!Array.isArray(parsed)) {
    throw new Error(`weft: CDK context ${WEFT_CONTEXT.peers} must be a JSON array of {cloud, url, keys}`);
  }
  return parsed as WeftPeer[];
}
