/**
 * The `openssl` CLI as an outsider to the mesh: it mints a foreign root CA
 * and a client certificate that looks like a gateway's (a SPIFFE URI SAN of
 * the mesh's own trust domain) without any of weft's code, so a refusal
 * cannot be an artefact of how weft builds certificates; and `s_client`
 * dials an ingress with a chosen TLS version and client certificate and
 * reports what came back.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runProcess } from '../../../support/run-process.js';

const run = promisify(execFile);

/** PEM files on disk, as curl and openssl take them. */
export interface CertFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

/** A client certificate and the root it chains to. */
export interface ForeignCert extends CertFiles {
  readonly caPath: string;
}

/**
 * A self-signed root (EC P-256) and a leaf it signs for `spiffeId`, with the
 * extensions an X.509-SVID carries (URI SAN, not a CA, client and server
 * auth), written under `dir`.
 */
export async function foreignClientCert(dir: string, spiffeId: string): Promise<ForeignCert> {
  const at = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    ...['req', '-x509', ...ec, '-keyout', at('foreign-ca.key'), '-out', at('foreign-ca.pem')],
    ...['-days', '1', '-subj', '/O=foreign/CN=foreign root'],
    ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  ]);
  await run('openssl', [
    ...['req', '-new', ...ec, '-keyout', at('foreign-leaf.key'), '-out', at('foreign-leaf.csr')],
    ...['-subj', '/O=foreign'],
  ]);
  await writeFile(
    at('foreign-leaf.ext'),
    [
      `subjectAltName=URI:${spiffeId}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyAgreement',
      'extendedKeyUsage=serverAuth,clientAuth',
    ].join('\n'),
  );
  await run('openssl', [
    ...['x509', '-req', '-in', at('foreign-leaf.csr'), '-CA', at('foreign-ca.pem')],
    ...['-CAkey', at('foreign-ca.key'), '-set_serial', '0x1f0e1d', '-days', '1'],
    ...['-extfile', at('foreign-leaf.ext'), '-out', at('foreign-leaf.pem')],
  ]);
  return { certPath: at('foreign-leaf.pem'), keyPath: at('foreign-leaf.key'), caPath: at('foreign-ca.pem') };
}

/** What `openssl s_client` saw. */
export interface SClientResult {
  readonly exitCode: number | null;
  /** stdout and stderr: the handshake report, alerts, and whatever the server wrote. */
  readonly output: string;
  /** The server's leaf certificate, when the handshake got that far. */
  readonly serverCert?: X509Certificate;
}

/** Options of {@link sClient}. */
export interface SClientOptions {
  readonly version: 'tls1_2' | 'tls1_3';
  /** A client certificate and key to offer. */
  readonly client?: CertFiles;
  /** Written once the handshake is done (stdin then closes). @default a `GET /` request */
  readonly send?: string;
}

/**
 * `openssl s_client -connect <address> -<version> [-cert -key]`, sending
 * `options.send` and waiting for the server to close (or 10 s).
 */
export async function sClient(address: string, options: SClientOptions): Promise<SClientResult> {
  const args = ['s_client', '-connect', address, `-${options.version}`, '-servername', 'weft.test'];
  if (options.client) args.push('-cert', options.client.certPath, '-key', options.client.keyPath);
  // -ign_eof: stdin's end does not hang up first; the server's answer (or refusal) decides.
  args.push('-ign_eof');
  const { code, output } = await runProcess('openssl', args, {
    input: options.send ?? 'GET / HTTP/1.1\r\nHost: weft.test\r\nConnection: close\r\n\r\n',
    timeoutMs: 10_000,
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(output)?.[0];
  return { exitCode: code, output, ...(pem && { serverCert: new X509Certificate(pem) }) };
}
