// The body of the `longreach/processInfo` response (docs/protocol.md section 5.1): what an agent says about its
// process when listed. Both agents send it; the client reads it.

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
