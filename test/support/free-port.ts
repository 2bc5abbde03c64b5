/**
 * A loopback port nobody listens on right now, for a child server the test
 * starts (it may be taken before the child binds it: callers retry).
 *
 * @module
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
