/**
 * Binding the simulated clouds' loopback addresses (127.0.1.1 aws,
 * 127.0.2.1 gcp, 127.0.3.1 azure), and saying plainly what to do when the
 * machine will not let us: on Linux all of 127.0.0.0/8 is loopback, macOS
 * and the BSDs answer only 127.0.0.1 until an alias is added.
 *
 * @module
 */
import { createServer } from 'node:net';
import { CliError, EXIT } from '../cli/errors.js';

/**
 * Turns a listen error into one line an operator can act on.
 *
 * @param what who wanted the address, for the message: `the gcp gateway's admin port`.
 */
export function bindError(error: unknown, host: string, port: number, what: string): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  let text: string;
  if (code === 'EADDRNOTAVAIL') {
    text =
      `cannot bind ${host} for ${what}: it is not a local address on this machine. ` +
      `Linux treats all of 127.0.0.0/8 as loopback; on macOS add the alias once with ` +
      `\`sudo ifconfig lo0 alias ${host} up\` and start again`;
  } else if (code === 'EADDRINUSE') {
    text = `${host}:${port} (${what}) is already in use: is another \`weft up\` running? Stop it, or change the address in the mesh file`;
  } else if (code === 'EACCES') {
    text = `not allowed to bind ${host}:${port} (${what}): use a port above 1023`;
  } else {
    text = `cannot bind ${host}:${port} for ${what}: ${(error as Error).message ?? String(error)}`;
  }
  return new CliError(text, EXIT.failed, [], { cause: error });
}

/**
 * Checks that `host:port` can be bound, then lets go of it. Run before
 * anything starts, so a missing alias or a second `weft up` fails in a
 * second with a clear line instead of half a mesh.
 *
 * @throws CliError from {@link bindError}.
 */
export function probeBind(host: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => reject(bindError(error, host, port, what)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** `host:port` split; IPv4 and names only, which is all the local mesh uses. */
export function splitAddress(address: string): { host: string; port: number } {
  const cut = address.lastIndexOf(':');
  return { host: address.slice(0, cut), port: Number(address.slice(cut + 1)) };
}
