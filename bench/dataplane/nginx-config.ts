/**
 * nginx configurations for the benchmark's nginx path, the same two hops as
 * weft's: gateway A takes plain HTTP on loopback and proxies over mutual TLS
 * 1.3 to gateway B, which checks the client certificate and proxies to the
 * service; both keep upstream connections alive. Plus the service itself,
 * an nginx `return 200` that every path (direct, nginx, weft) calls.
 *
 * What nginx verifies, exactly:
 * - A -> B: B's chain against the bundle's authorities (`proxy_ssl_verify
 *   on`, depth 2), then OpenSSL's host check of B's leaf against
 *   `proxy_ssl_name` (a DNS SAN: nginx cannot match a URI SAN, see
 *   `materials.ts`). A presents gw-a's SVID.
 * - B <- A: A's chain against the same authorities (`ssl_verify_client on`,
 *   depth 2). Nothing checks which SPIFFE ID the client has (nginx exposes no
 *   URI SAN), where weft's ingress requires a `/gw/` ID: per connection only.
 * - No JWT-SVID, no policy, no metrics: nginx writes one access log line per
 *   request per hop, as weft does.
 *
 * @module
 */
import { join } from 'node:path';
import type { Materials } from './materials.js';
import { NGINX_B_NAME } from './materials.js';

/** The parts every instance shares: foreground, one worker, everything under `dir`. */
function main(dir: string, label: string, http: string): string {
  const tmp = join(dir, `${label}-tmp`);
  return `daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, `${label}.pid`)};
error_log stderr warn;
events { worker_connections 4096; }
http {
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  default_type text/plain;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
${http}
}
`;
}

const upstream = (name: string, address: string) => `  upstream ${name} {
    server ${address};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }`;

/** The service: `200 ok` for anything, no log. */
export function serviceConfig(dir: string, port: number): string {
  return main(
    dir,
    'service',
    `  access_log off;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / { return 200 "ok\\n"; }
  }`,
  );
}

/**
 * Gateway A: plain HTTP in, mTLS 1.3 out to B. `routes` server blocks, one
 * per service host (`svc`, then `svc-1`...), as weft's A has one egress
 * service (and route rule) per host.
 */
export function gatewayAConfig(
  dir: string,
  m: Materials,
  port: number,
  bAddress: string,
  routes = 1,
  label = 'nginx-a',
): string {
  const server = (host: string, first: boolean) => `  server {
    listen 127.0.0.1:${port}${first ? ' default_server backlog=4096' : ''};
    server_name ${host};
    location / { proxy_pass https://b_upstream; }
  }`;
  const hosts = ['svc', ...Array.from({ length: routes - 1 }, (_, i) => `svc-${i + 1}`)];
  return main(
    dir,
    label,
    `  access_log ${join(dir, `${label}-access.log`)};
  server_names_hash_max_size 4096;
  server_names_hash_bucket_size 128;
${upstream('b_upstream', bAddress)}
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_ssl_certificate ${m.a.chainPath};
  proxy_ssl_certificate_key ${m.a.keyPath};
  proxy_ssl_trusted_certificate ${m.bundlePemPath};
  proxy_ssl_verify on;
  proxy_ssl_verify_depth 2;
  proxy_ssl_protocols TLSv1.3;
  proxy_ssl_name ${NGINX_B_NAME};
  proxy_ssl_server_name on;
  proxy_ssl_session_reuse on;
${hosts.map((h, i) => server(`${h}.bench.weft.internal`, i === 0)).join('\n')}`,
  );
}

/** Gateway B: mTLS 1.3 in (client certificate required), plain HTTP to the service. */
export function gatewayBConfig(dir: string, m: Materials, port: number, serviceAddress: string): string {
  return main(
    dir,
    'nginx-b',
    `  access_log ${join(dir, 'nginx-b-access.log')};
${upstream('svc_upstream', serviceAddress)}
  server {
    listen 127.0.0.1:${port} ssl backlog=4096;
    ssl_certificate ${m.bNginx.chainPath};
    ssl_certificate_key ${m.bNginx.keyPath};
    ssl_protocols TLSv1.3;
    ssl_client_certificate ${m.bundlePemPath};
    ssl_verify_client on;
    ssl_verify_depth 2;
    location / {
      proxy_pass http://svc_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
  );
}
