/**
 * The gateway data plane: egress for local workloads, ingress for other
 * gateways, mTLS between them, layer-7 policy, routing with retries and
 * failover, and telemetry. The agent mounts it with `createDataPlane` and
 * feeds it snapshots and credentials; see `README.md` in this folder.
 *
 * @module
 */
export { type AuthzDecision, type AuthzRequest, authorize } from './authorize.js';
export { chooseEnvironment, defaultEnvironmentOrder } from './choose-environment.js';
export type { DataPlaneLimits } from './context.js';
export type { Credentials } from './credentials.js';
export { createDataPlane } from './data-plane.js';
export type { EndpointPoolOptions } from './endpoint-pools.js';
export * from './errors.js';
export type { BoundAddresses, DataPlane, DataPlaneOptions, ListenAddresses } from './options.js';
export { OutlierDetector } from './outlier.js';
export { type RouteRequest, selectRoute } from './route.js';
export type { TransportOptions } from './transport.js';
export { pickWeighted, type Random, SmoothWeightedRoundRobin } from './weighted.js';
