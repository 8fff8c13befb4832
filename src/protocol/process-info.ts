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
  /** Jobs and hubs (docs/protocol.md 5.3): the parent's pid, when the process belongs to a job. */
  ppid?: number | null;
  /** What the process is: `rank 1/4`, `DataLoader worker 0`, `SpawnPoolWorker-3`, `exec'd`, ... */
  label?: string;
  /** Set while the process waits for a debugger at a breakpoint() call. */
  waiting?: { file: string; line: number; since: string } | null;
  /** A process of the job that has not joined it (no agent answers for it): why, and that it cannot be selected. */
  notJoined?: string;
  /** Every process reachable through the answering address (a job's gateway, a hub); each may be selected, but one
   * with `notJoined`. */
  processes?: ProcessInfo[];
}
