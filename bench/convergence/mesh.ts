/**
 * The benchmark's mesh and how it talks to the control plane, as an
 * operator would: `POST /v1/apply` in batches, one-time join tokens, the
 * convergence report. Gateway `i` lives in environment `env-<i/10>` on its
 * own loopback address (127.60.x.y), where its webhook points; one service,
 * `checkout`, has a workload in every environment, so a change of its
 * AccessPolicy concerns every gateway's ingress: every gateway is targeted.
 *
 * @module
 */

export const TRUST_DOMAIN = 'bench.test';
/** Gateways per environment. */
const PER_ENV = 10;

/** Gateway `i`: its names and addresses. */
export function gatewayOf(i: number) {
  const ip = `127.60.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  const environment = `env-${Math.floor(i / PER_ENV)}`;
  const name = `gw-${i}`;
  return {
    environment,
    name,
    ip,
    adminAddress: `${ip}:15000`,
    spiffeId: `spiffe://${TRUST_DOMAIN}/gw/${environment}/${name}`,
  };
}

export type BenchGateway = ReturnType<typeof gatewayOf>;

const doc = (kind: string, name: string, spec: object, namespace?: string) => ({
  apiVersion: 'weft.dev/v1',
  kind,
  metadata: { name, ...(namespace && { namespace }) },
  spec,
});

/** The policy whose every change the benchmark times; `k` changes its path. */
export const checkoutPolicy = (k: number) =>
  doc(
    'AccessPolicy',
    'checkout-allow',
    {
      service: 'checkout',
      action: 'allow',
      rules: [{ from: [`spiffe://${TRUST_DOMAIN}/ns/bench/*`], methods: ['GET'], paths: [`/v${k}`] }],
    },
    'bench',
  );

/** The Mesh, the service and its first policy. */
export function baseDocs(): object[] {
  return [
    doc('Mesh', 'default', { trustDomain: TRUST_DOMAIN, attestation: { joinToken: { maxTtl: '1h' } } }),
    doc('Service', 'checkout', { ports: [{ port: 8080 }] }, 'bench'),
    checkoutPolicy(0),
  ];
}

/** Environments, gateways and checkout workloads for gateways `from` to `to - 1`. */
export function gatewayDocs(from: number, to: number): object[] {
  const docs: object[] = [];
  for (let i = from; i < to; i++) {
    const g = gatewayOf(i);
    if (i % PER_ENV === 0 || i === from) {
      const e = g.environment;
      docs.push(doc('Environment', e, { provider: 'local', region: 'bench' }));
      const workload = { service: 'checkout', environment: e, address: `10.60.${i >> 8}.${i & 255}:8080` };
      docs.push(doc('Workload', `checkout-${e}`, workload, 'bench'));
    }
    docs.push(
      doc('Gateway', g.name, {
        environment: g.environment,
        address: `${g.ip}:15443`,
        webhook: `http://${g.adminAddress}/notify`,
      }),
    );
  }
  return docs;
}
