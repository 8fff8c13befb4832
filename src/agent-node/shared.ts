// The state the main thread and the agent's worker share: one SharedArrayBuffer of Int32 slots (so the main
// thread can block in Atomics.wait without an event loop) and the messages they exchange.

import type { ConnectConfig } from './connect-options.js';
import type { JobBoot } from './job/main-thread.js';

export const SLOT = {
  /** 0 starting, 1 listening, 2 failed (see the result text). */
  STATE: 0,
  /** 1 while a debugger is attached. */
  ATTACHED: 1,
  /** 1 from a debugger's configurationDone until it detaches. */
  CONFIGURED: 2,
  /** Bumped by the worker when a main-thread request (break, exit) has been handled. */
  ACK: 3,
  /** Byte length of the JSON result text written after the slots. */
  RESULT_LENGTH: 4,
  /** 1 when the client asked for program output (redirectOutput). */
  REDIRECT: 5,
  /** 1 while the agent's worker holds any inspector session (the exit hook must have it end them first). */
  LINGERING: 6,
  /** The worker's answer to a compiled breakpoint's stop: 0 when its tag names no live breakpoint (no stop). */
  STOP: 7,
  /**
   * Bumped on every configurationDone, never lowered: waitForAttach ends when it changes, so a debugger that attaches
   * and detaches again before the waiting main thread looks (a busy machine) still ends the wait.
   */
  CONFIGURATIONS: 8,
} as const;

export const SLOT_COUNT = 9;
export const RESULT_BYTES = 8192;

export function createSharedState(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOT_COUNT * 4 + RESULT_BYTES);
}

export function slots(buffer: SharedArrayBuffer): Int32Array {
  return new Int32Array(buffer, 0, SLOT_COUNT);
}

export function writeResult(buffer: SharedArrayBuffer, value: unknown): void {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const view = new Uint8Array(buffer, SLOT_COUNT * 4, RESULT_BYTES);
  const length = Math.min(bytes.length, RESULT_BYTES);
  view.set(bytes.subarray(0, length));
  Atomics.store(slots(buffer), SLOT.RESULT_LENGTH, length);
}

export function readResult(buffer: SharedArrayBuffer): unknown {
  const length = Atomics.load(slots(buffer), SLOT.RESULT_LENGTH);
  const view = new Uint8Array(buffer, SLOT_COUNT * 4, length);
  return JSON.parse(new TextDecoder().decode(view.slice()));
}

/** What the main thread hands the worker. */
export interface WorkerConfig {
  state: SharedArrayBuffer;
  secret: string | null;
  host: string;
  port: number;
  certfile?: string;
  keyfile?: string;
  allowPlainSecret: boolean;
  redirectOutput: boolean;
  /** URL of the api module, so its frames are hidden from the user's stack. */
  apiUrl: string;
  /** The program's argv (the worker's own argv names the worker). */
  argv: string[];
  /** Reverse connect: dial this hub instead of listening (connect-options.ts). */
  connect?: ConnectConfig;
  /** A job's root (serves the gateway) or member (dials it instead of listening): docs/protocol.md 5.3. */
  job?: JobBoot;
}

/** Main thread → worker. */
export type ToWorker =
  | { kind: 'break' }
  /** A compiled breakpoint (its tag) is about to stop: switch V8's debugger on first (api.ts, helpers.stop). */
  | { kind: 'stop'; tag: string }
  | { kind: 'exit'; code: number }
  | { kind: 'output'; category: 'stdout' | 'stderr' | 'console'; text: string };

/** The hidden global the agent installs in the main thread (for log points and hit counts). */
export const AGENT_GLOBAL = 'longreach.agent';
/** Where a dormant member of a job (job/dormant.cts) keeps what closes its link to the gateway. */
export { DORMANT } from './job/config.js';
