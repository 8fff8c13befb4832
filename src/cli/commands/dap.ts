// longreach dap [--port N] — the editor bridge: a DAP debug adapter on stdio, or on a local TCP port.

import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { bridgeStreams } from '../../bridge/adapter.js';
import { listenTcp } from '../../bridge/server.js';
import { UsageError, type Io } from '../io.js';

export const DAP_USAGE = `usage: longreach dap [--port N]
  A Debug Adapter Protocol adapter for editors (VS Code, nvim-dap, dape, ...). Without --port it speaks DAP
  on stdin/stdout (an "executable" adapter); with --port N it accepts editors on 127.0.0.1:N (0 picks a port,
  printed on stderr). The target comes from the attach arguments: "qualifier" ("tcps://HOST:5678"), the
  secret from "secretFile" or "secretEnv", and optionally "pathMappings", "ca", "fingerprint". See docs/editors.md.`;

export async function dapCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout.write(`${DAP_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`dap takes no qualifier on the command line (it comes in the attach arguments)\n${DAP_USAGE}`);
  if (values.port === undefined) {
    // one session per process: a secret held only in memory cannot follow a child session (BridgeOptions.sharesProcess)
    const bridge = bridgeStreams(io.stdin as unknown as Readable, io.stdout as unknown as Writable, { env: io.env, sharesProcess: false });
    await bridge.done;
    return 0;
  }
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) throw new UsageError(`--port must be a port number 0-65535, got ${JSON.stringify(values.port)}\n${DAP_USAGE}`);
  const tcp = await listenTcp(Number(values.port), { env: io.env });
  io.stderr.write(`longreach dap: listening on 127.0.0.1:${tcp.port}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await tcp.close();
  return 0;
}
