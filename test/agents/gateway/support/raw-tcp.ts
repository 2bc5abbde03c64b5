/**
 * A plain TCP client that writes bytes and keeps whatever comes back until
 * the server closes: what a client that does not speak TLS gets from a
 * TLS-only port (nothing, or an alert; never an HTTP answer).
 *
 * @module
 */
import { connect } from 'node:net';
import { parseAddress } from '../../../../agents/gateway/dataplane/listen.js';

/** What came back over the socket. */
export interface RawExchange {
  readonly received: Buffer;
  /** The server closed (or reset) the connection, rather than our timer giving up. */
  readonly closedByServer: boolean;
}

/** Connects to `address`, writes `data`, and reads until the server closes or `timeoutMs` passes. */
export function rawExchange(address: string, data: string, timeoutMs = 5_000): Promise<RawExchange> {
  const { host, port } = parseAddress(address);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let connected = false;
    let timedOut = false;
    const socket = connect({ host, port }, () => {
      connected = true;
      socket.write(data);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      if (!connected) reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), closedByServer: !timedOut });
    });
  });
}
