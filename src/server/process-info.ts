// Process information for listing (docs/protocol.md section 5.1), for the Node.js agent.

import { hostname, userInfo } from 'node:os';
import { PACKAGE_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';

export interface ProcessInfo {
  pid: number;
  executable: string;
  argv: string[];
  cwd: string;
  runtime: string;
  runtimeVersion: string;
  runtimeDisplay: string;
  os: string;
  arch: string;
  hostname: string;
  user: string;
  agent: string;
  agentVersion: string;
  protocol: number;
  attached: { address: string; since: string } | null;
  /** Jobs and hubs (docs/protocol.md 5.3): the parent's pid, when the process belongs to a job. */
  ppid?: number | null;
  /** What the process is: `rank 1/4`, `DataLoader worker 0`, `SpawnPoolWorker-3`, `exec'd`, ... */
  label?: string;
  /** Set while the process waits for a debugger at a breakpoint() call. */
  waiting?: { file: string; line: number; since: string } | null;
  /** Every process reachable through the answering address (a job's gateway, a hub); each may be selected. */
  processes?: ProcessInfo[];
}

export function nodeProcessInfo(attached: ProcessInfo['attached']): ProcessInfo {
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? '';
  }
  return {
    pid: process.pid,
    executable: process.execPath,
    argv: process.argv.slice(1),
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
