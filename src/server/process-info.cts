// Process information for listing (docs/protocol.md section 5.1), for the Node.js agent. The shape is the
// protocol's (src/protocol/process-info.ts).

import { hostname, userInfo } from 'node:os';
import type { ProcessInfo } from '../protocol/process-info.js';
import { PACKAGE_VERSION, PROTOCOL_VERSION } from '../protocol/version.cjs';

export type { ProcessInfo };

/** `argv` is the program's (process.argv); an agent running in a worker thread passes the main thread's, since a
 * worker's own process.argv names the worker's file. */
export function nodeProcessInfo(attached: ProcessInfo['attached'], argv: readonly string[] = process.argv): ProcessInfo {
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? '';
  }
  return {
    pid: process.pid,
    executable: process.execPath,
    argv: argv.slice(1),
    cwd: process.cwd(),
    runtime: 'Node.js',
    runtimeVersion: process.version,
    runtimeDisplay: `Node.js ${process.version}`,
    os: process.platform,
    arch: process.arch,
    hostname: hostname(),
    user,
    agent: 'longreach-node',
    agentVersion: PACKAGE_VERSION,
    protocol: PROTOCOL_VERSION,
    attached,
  };
}
