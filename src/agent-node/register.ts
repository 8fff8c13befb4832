// `node --import longreach/register app.js` (or NODE_OPTIONS="--import longreach/register"): starts the agent
// before the program, configured by environment variables, without any change to the program.
//
//   LONGREACH_LISTEN        [HOST:]PORT to listen on (default 127.0.0.1:5678)
//   LONGREACH_SECRET_FILE   file whose first line is the secret (preferred), or
//   LONGREACH_SECRET        the secret itself (removed from the environment once read)
//   LONGREACH_NO_SECRET=1   let anyone attach (ptvsd 3 semantics; warns beyond loopback)
//   LONGREACH_CERTFILE / LONGREACH_KEYFILE   serve TLS (tcps://)
//   LONGREACH_CONNECT       HOST:PORT of a hub (longreach listen) to dial instead of listening (reverse connect)
//   LONGREACH_CA / LONGREACH_FINGERPRINT     trust the hub's TLS certificate (a CA file, or sha256:HEX)
//   LONGREACH_WAIT          1 to wait for a debugger before the program starts, or a number of seconds

import { isMainThread } from 'node:worker_threads';
import { LongreachError } from '../protocol/errors.js';
import { enableAttach, waitForAttach } from './api.js';
import { configFromEnv } from './register-config.js';

if (isMainThread) {
  try {
    const config = configFromEnv(process.env);
    delete process.env.LONGREACH_SECRET;
    enableAttach(config.options);
    if (config.wait !== null) waitForAttach(config.wait === Infinity ? {} : { timeout: config.wait });
  } catch (err) {
    const code = err instanceof LongreachError ? ` [${err.code}]` : '';
    process.stderr.write(`longreach: cannot start the debug server${code}: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
