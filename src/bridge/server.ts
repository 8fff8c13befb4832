// How an editor reaches the bridge: stdio (an "executable" adapter) or a local TCP port (`--port N`).

import { createServer, type Server, type Socket } from 'node:net';
import { LongreachError } from '../protocol/errors.js';
import { bridgeStreams, type BridgeOptions } from './adapter.js';

/** One bridge on the process's stdin/stdout; resolves when the editor closes stdin. */
export async function serveStdio(options: BridgeOptions = {}): Promise<void> {
  const bridge = bridgeStreams(process.stdin, process.stdout, { sharesProcess: false, ...options });
  await bridge.done;
}

export interface TcpBridge {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * A bridge per connection on HOST:PORT. Only loopback: the bridge acts with the secrets it reads, so it must
 * not be reachable by other machines.
 */
export async function listenTcp(port: number, options: BridgeOptions & { host?: string } = {}): Promise<TcpBridge> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    bridgeStreams(socket, socket, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new LongreachError('LR_ADDRESS_IN_USE', `port ${port} on ${host} is already in use; choose another --port (0 picks a free one)`)
          : new LongreachError('LR_BAD_OPTION', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`),
      );
    });
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    server,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
