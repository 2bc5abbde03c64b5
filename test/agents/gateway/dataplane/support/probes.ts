/**
 * Raw clients for what an ingress must refuse: plain TCP, TLS without a
 * client certificate, TLS with someone else's certificate. Each sends one
 * HTTP request and reports what came back (nothing, if refused).
 *
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Credentials } from '../../../../../agents/gateway/dataplane/credentials.js';
import { parseAddress } from '../../../../../agents/gateway/dataplane/listen.js';

export interface ProbeResult {
  /** Bytes received, as text: '' when the peer refused. */
  readonly received: string;
  readonly error?: Error;
  /** The server's leaf certificate serial, when the handshake got that far. */
  readonly serverSerial?: string;
}

const REQUEST = 'GET / HTTP/1.1\r\nHost: orders.shop.weft.internal\r\nConnection: close\r\n\r\n';

function collect(socket: net.Socket, onReady: () => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let received = '';
    let serverSerial: string | undefined;
    socket.on(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => {
      if (socket instanceof tls.TLSSocket) serverSerial = socket.getPeerCertificate().serialNumber;
      onReady();
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on('error', (error) => resolve({ received, error, serverSerial }));
    socket.on('close', () => resolve({ received, serverSerial }));
    socket.setTimeout(5_000, () => socket.destroy(new Error('probe timed out')));
  });
}

/** Plain TCP, speaking HTTP/1.1 to a TLS port. */
export function plainTcpProbe(address: string): Promise<ProbeResult> {
  const { host, port } = parseAddress(address);
  const socket = net.connect(port, host);
  return collect(socket, () => socket.write(REQUEST));
}

/** TLS 1.3 trusting `ca`, with `client` credentials or none. */
export function tlsProbe(address: string, ca: readonly string[], client?: Credentials): Promise<ProbeResult> {
  const { host, port } = parseAddress(address);
  const socket = tls.connect({
    host,
    port,
    ca: [...ca],
    minVersion: 'TLSv1.3',
    ...(client ? { key: client.keyPem, cert: client.certChainPem.join('') } : {}),
    // Probes talk to whoever answers: the server's identity is not what they test.
    checkServerIdentity: () => undefined,
  });
  return collect(socket, () => socket.write(REQUEST));
}
