/**
 * The Google Cloud composition root: the whole control plane over Firestore
 * (state, join tokens, used proofs, rate limits), Cloud Storage (snapshots,
 * status, the CA's public state, replication bookkeeping), Pub/Sub (changes)
 * and Cloud KMS (every private key), wired once per cold start from the
 * function's environment. Every function (api, ingest, compile, relay, sweep,
 * registrar, reconcile) composes the same plane and calls its part.
 *
 * | variable | |
 * |---|---|
 * | `WEFT_STATE_BACKEND` | the state store (default and only: `firestore`, the function's own project) |
 * | `WEFT_FIRESTORE_COLLECTION` | the state's collection (default `weft-state`) |
 * | `WEFT_BUCKET_NAME` | the Cloud Storage bucket (required) |
 * | `WEFT_PUBSUB_TOPIC` | the topic changes are published on, `weft-changes` or `projects/P/topics/T` (required) |
 * | `WEFT_KMS_KEY_RING` | `projects/P/locations/L/keyRings/R`: the CA's keys are created in it on first use (required) |
 * | `WEFT_RELAY_KEY_VERSION` | the `.../cryptoKeys/K/cryptoKeyVersions/N` relay events are signed with (required with peers) |
 * | `WEFT_PEERS` | the peer clouds as JSON `[{"cloud","url","keys":[JWK with kid]}]` (default none) |
 * | `WEFT_ROOT_CERT` | a federated mesh's root certificate, PEM (default: the CA keeps its own root in Cloud KMS) |
 * | `WEFT_OPERATOR_ISSUER`, `WEFT_OPERATOR_AUDIENCE` | operator tokens' `iss` and `aud` (required) |
 * | `WEFT_OPERATOR_JWKS_URL` or `WEFT_OPERATOR_JWKS` | their keys: an https URL, or the JWKS as JSON (one is required) |
 * | `WEFT_OPERATOR_ROLE_CLAIM` | the claim holding `admin` or `viewer` (default `role`) |
 *
 * A test injects what it runs instead (a client per service, a key ring, a
 * CA opener, a store); each injected part makes its variable optional.
 * Clients are built here but reach nothing until a call: the Cloud KMS one
 * speaks REST (`fallback: true`), which loads faster at a cold start than gRPC.
 *
 * @module
 */
import { Firestore } from '@google-cloud/firestore';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import type { Api } from '../../shared/api/types.js';
import type { RelayPeer } from '../../shared/replication/federation.js';
import type { StateStore } from '../../shared/storage/state-store.js';
import {
  assembleCloudPlane,
  type CloudCompositionOptions,
  cloudCaOpener,
  readFederation,
  readRootCert,
  requiredUnless,
} from '../control-plane/cloud-config.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';
import {
  consoleJsonLogger,
  type Env,
  EnvConfig,
  operatorAuthFromEnv,
  type StateStoreFactory,
  stateStoreFromEnv,
} from '../control-plane/startup.js';
import { CloudKmsKeyRing } from './cloud-kms-key-ring.js';
import { CloudKmsSigner } from './cloud-kms-signer.js';
import type { FirestoreClient } from './firestore-client.js';
import { FirestoreJoinTokenStore } from './firestore-join-token-store.js';
import { FirestoreRateLimiter } from './firestore-rate-limiter.js';
import { FirestoreReplayCache } from './firestore-replay-cache.js';
import { FirestoreStateStore } from './firestore-state-store.js';
import { GcsBlobStore } from './gcs-blob-store.js';
import { PubSubEventBus } from './pubsub-event-bus.js';

/** What a caller (a test, a custom build) may hand in instead of what the environment names. */
export interface GcpCompositionOptions extends CloudCompositionOptions {
  /** Firestore, or a stand-in at the same seam. @default a client for the function's own project and service account */
  readonly firestore?: FirestoreClient;
  /** @default a client for the function's own project and service account */
  readonly storage?: Storage;
  /** @default a REST client (`fallback: true`) for the function's service account */
  readonly kms?: KeyManagementServiceClient;
  /** @default a client for the function's own project and service account */
  readonly pubsub?: PubSub;
  /** The state store. @default Firestore, collection `WEFT_FIRESTORE_COLLECTION` */
  readonly createStore?: StateStoreFactory;
}

/** The Google Cloud environment, read and checked at once, before anything is reached. */
export interface GcpConfig {
  /** The state store, built (not reached). */
  readonly store: StateStore;
  readonly bucketName?: string;
  readonly topic?: string;
  readonly keyRing?: string;
  readonly relayKeyVersion?: string;
  readonly peers: readonly RelayPeer[];
  readonly rootCertPem?: string;
  readonly auth: ReturnType<typeof operatorAuthFromEnv>;
}

const KEY_RING = /^projects\/[a-z0-9.:-]+\/locations\/[a-z0-9-]+\/keyRings\/[a-zA-Z0-9_-]{1,63}$/;
const KEY_VERSION =
  /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+\/cryptoKeyVersions\/\d+$/;
const TOPIC = /^(?:projects\/[^/]+\/topics\/)?[A-Za-z][\w.~+%-]{2,254}$/;

/**
 * Reads the environment (see the module comment). Does no I/O: the state
 * store is built, over `options.firestore` or a client of its own.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 */
export function readGcpConfig(env: Env, options: GcpCompositionOptions = {}): GcpConfig {
  const config = new EnvConfig(env);
  const auth = operatorAuthFromEnv(config);
  const backends: Record<string, StateStoreFactory> = {
    firestore: (c) => {
      const collection = c.optional('WEFT_FIRESTORE_COLLECTION');
      return new FirestoreStateStore({
        firestore: options.firestore ?? new Firestore(),
        ...(collection && { collection }),
      });
    },
  };
  const store = stateStoreFromEnv(config, backends, 'firestore', options.createStore);
  const need = (name: string, detail: string, injected: unknown) =>
    requiredUnless(config, name, detail, injected);
  const bucketName = need(
    'WEFT_BUCKET_NAME',
    'is not set: the Cloud Storage bucket for snapshots and status',
    options.blobs,
  );
  const topic = need('WEFT_PUBSUB_TOPIC', 'is not set: the Pub/Sub topic changes go on', options.bus);
  if (topic && !TOPIC.test(topic))
    config.invalid(
      'WEFT_PUBSUB_TOPIC',
      `must be a topic id or projects/P/topics/T, got ${JSON.stringify(topic)}`,
    );
  const keyRing = need(
    'WEFT_KMS_KEY_RING',
    'is not set: the Cloud KMS key ring of the CA keys',
    options.keys ?? options.openCa,
  );
  if (keyRing && !KEY_RING.test(keyRing))
    config.invalid(
      'WEFT_KMS_KEY_RING',
      `must look like projects/P/locations/L/keyRings/R, got ${JSON.stringify(keyRing)}`,
    );
  const { peers, relayKey: relayKeyVersion } = readFederation(
    config,
    {
      name: 'WEFT_RELAY_KEY_VERSION',
      detail: 'is not set: the Cloud KMS key version relay events to the peers are signed with',
    },
    options,
  );
  if (relayKeyVersion && !KEY_VERSION.test(relayKeyVersion))
    config.invalid(
      'WEFT_RELAY_KEY_VERSION',
      'must be a full key version name: projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N',
    );
  const rootCertPem = readRootCert(config);
  config.check('weft on Google Cloud');
  return {
    store: store!,
    ...(bucketName && { bucketName }),
    ...(topic && { topic }),
    ...(keyRing && { keyRing }),
    ...(relayKeyVersion && { relayKeyVersion }),
    peers,
    ...(rootCertPem && { rootCertPem }),
    auth,
  };
}

/**
 * Builds the control plane from `env`. The one I/O at a cold start is
 * reading the relay key's public half (its `kid`), and only with peers.
 *
 * @throws ConfigurationError naming every missing or malformed variable (synchronously, before any I/O).
 * @example
 * const plane = await composeGcpControlPlane(process.env);
 */
export function composeGcpControlPlane(
  env: Env = process.env,
  options: GcpCompositionOptions = {},
): Promise<ControlPlane> {
  const firestore = options.firestore ?? new Firestore();
  const config = readGcpConfig(env, { ...options, firestore });
  const logger = options.logger ?? consoleJsonLogger({ cloud: 'gcp' });
  let kms: KeyManagementServiceClient | undefined = options.kms;
  const kmsClient = () => {
    kms ??= new KeyManagementServiceClient({ fallback: true });
    return kms;
  };
  const blobs =
    options.blobs ??
    new GcsBlobStore({ storage: options.storage ?? new Storage(), bucket: config.bucketName! });
  const bus =
    options.bus ?? new PubSubEventBus({ pubsub: options.pubsub ?? new PubSub(), topic: config.topic! });
  const openCa = cloudCaOpener(
    'gcp',
    options,
    blobs,
    () => new CloudKmsKeyRing({ client: kmsClient(), keyRing: config.keyRing! }),
    config.rootCertPem,
  );
  return assembleCloudPlane({
    cloud: 'gcp',
    store: config.store,
    auth: config.auth,
    logger,
    openCa,
    joinTokens: new FirestoreJoinTokenStore({ firestore }),
    replayCache: new FirestoreReplayCache({ firestore }),
    rateLimiter: (name, limit) => new FirestoreRateLimiter({ firestore, name, ...limit }),
    blobs,
    bus,
    peers: config.peers,
    relaySigner: () => new CloudKmsSigner({ client: kmsClient(), keyVersion: config.relayKeyVersion! }),
    injected: options,
  });
}

/**
 * Builds the API from `env`: the control plane's HTTP edge.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 * @example
 * const api = await composeGcpApi(process.env, { createStore: () => new MemoryStateStore(), blobs, bus, keys });
 */
export async function composeGcpApi(
  env: Env = process.env,
  options: GcpCompositionOptions = {},
): Promise<Api> {
  return (await composeGcpControlPlane(env, options)).api;
}
