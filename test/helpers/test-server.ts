// A server-core instance with a tiny session handler, for tests of the gate, the client and the CLI.

import type { TestContext } from 'node:test';
import { startServer, type DebugServer, type ServerOptions } from '../../src/server/server.js';
import type { DebugSessionHandler, SessionContext } from '../../src/server/gate.js';
import { LongreachError } from '../../src/protocol/errors.js';

export interface Recorded {
  attaches: Record<string, unknown>[];
  closes: number;
  terminates: number;
  contexts: SessionContext[];
}

export async function startTestServer(t: TestContext, options: Partial<ServerOptions> = {}): Promise<DebugServer & { record: Recorded }> {
  const record: Recorded = { attaches: [], closes: 0, terminates: 0, contexts: [] };
  const server = await startServer({
    secret: 's3cret',
    host: '127.0.0.1',
    port: 0,
    throttleBaseMs: 60_000,
    capabilities: { supportsConfigurationDoneRequest: true },
    createSession: (context): DebugSessionHandler => {
      record.contexts.push(context);
      return {
        handle(command, args) {
          if (command === 'attach') record.attaches.push(args);
          if (command === 'threads') return { threads: [{ id: 1, name: 'main' }] };
          if (command === 'echo') return args;
          if (command === 'explode') throw new Error('handler bug');
          if (command === 'slow') return new Promise((resolve) => setTimeout(() => resolve({ slow: true }), 50));
          if (command === 'attach' || command === 'configurationDone') return undefined;
          throw new LongreachError('LR_UNSUPPORTED', `${command} is not supported by the test agent`);
        },
        started() {
          context.sendEvent('initialized');
        },
        close() {
          record.closes++;
        },
        terminate() {
          record.terminates++;
        },
      };
    },
    ...options,
  });
  t.after(() => server.close());
  return Object.assign(server, { record });
}
