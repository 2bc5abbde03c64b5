/**
 * Real TLS 1.3 with mutual authentication on loopback, configured as a
 * gateway would: its SVID chain, the bundle's authorities as trust anchors,
 * peers identified by their URI SAN rather than a host name.
 *
 * @module
 */
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';

export interface TlsIdentity {
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  /** Leaf then intermediate. */
  readonly certChain: readonly string[];
}

export interface MtlsServer {
  readonly port: number;
  /** Errors of refused handshakes. */
  readonly clientErrors: Error[];
  /** URI SANs of the clients that completed the handshake. */
  readonly accepted: string[];
  close(): Promise<void>;
}

const options = (id: TlsIdentity, ca: readonly string[]) => ({
  key: id.keyPem,
  cert: id.certChain.join(''),
  ca: [...ca],
  minVersion: 'TLSv1.3' as const,
});

/** A server that answers each authenticated client with the client's URI SAN. */
export async function startMtlsServer(id: TlsIdentity, ca: readonly string[]): Promise<MtlsServer> {
  const clientErrors: Error[] = [];
  const accepted: string[] = [];
  const server = tls.createServer(
    { ...options(id, ca), requestCert: true, rejectUnauthorized: true },
    (socket) => {
      const san = socket.getPeerCertificate().subjectaltname ?? '';
      accepted.push(san);
      socket.end(`hello ${san}`);
    },
  );
  server.on('tlsClientError', (error) => clientErrors.push(error));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    clientErrors,
    accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface MtlsExchange {
  /** What the server wrote, or '' when the connection was refused. */
  readonly received: string;
  readonly error?: Error;
  readonly protocol?: string | null;
  readonly serverSan?: string;
}

/** Connects, expects the server to be `serverSpiffeId`, and reads the answer. */
export function mtlsRequest(
  port: number,
  id: TlsIdentity,
  ca: readonly string[],
  serverSpiffeId: string,
): Promise<MtlsExchange> {
  return new Promise((resolve) => {
    let received = '';
    let protocol: string | null | undefined;
    let serverSan: string | undefined;
    const socket = tls.connect({
      ...options(id, ca),
      host: '127.0.0.1',
      port,
      checkServerIdentity: (_host, cert) =>
        cert.subjectaltname === `URI:${serverSpiffeId}`
          ? undefined
          : new Error(`server is ${cert.subjectaltname}`),
    });
    socket.on('secureConnect', () => {
      protocol = socket.getProtocol();
      serverSan = socket.getPeerCertificate().subjectaltname;
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on('error', (error) => resolve({ received, error, protocol, serverSan }));
    socket.on('close', () => resolve({ received, protocol, serverSan }));
  });
}
