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
