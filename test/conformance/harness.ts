// One running conformance program and its debugger: launch, connect (with retries while the agent starts),
// attach, and helpers in the style of a DAP test client (expectStopped, topFrame, ...).

import type { ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ClientSession, type ConnectOptions } from '../../src/client/index.js';
import { LongreachError } from '../../src/protocol/errors.js';
import { freePort, markerLine, type AgentKind, type LaunchOptions } from './agents.js';
import { trackChild } from '../helpers/child.js';

export const SECRET = 'conformance-secret';
const WAIT_MS = 15_000;

export interface Program {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the program ended. */
  exited: Promise<number | string>;
}

export async function startProgram(t: TestContext, agent: AgentKind, mode: string, extra: Partial<LaunchOptions> = {}): Promise<Program> {
  const port = await freePort();
  const child = agent.launch({ mode, port, secret: SECRET, ...extra });
  return { ...trackChild(t, child), port };
}

/** Connects, retrying while the agent is still starting (connection refused), up to 15 s. */
export async function connectTo(program: Program, options: ConnectOptions & { scheme?: 'tcp' | 'tcps'; secret?: string } = {}): Promise<ClientSession> {
  const deadline = Date.now() + WAIT_MS;
  const scheme = options.scheme ?? 'tcp';
  for (;;) {
    try {
      return await connect(`${scheme}://127.0.0.1:${program.port}`, { secret: SECRET, timeoutMs: 10_000, ...options });
    } catch (err) {
      const retry = err instanceof LongreachError && ['LR_REFUSED', 'LR_CLOSED', 'LR_UNREACHABLE', 'LR_THROTTLED'].includes(err.code);
      if (!retry || Date.now() > deadline || program.child.exitCode !== null) {
        if (err instanceof Error) err.message += ` (agent stderr: ${program.stderr().slice(-2000)})`;
        throw err;
      }
      const wait = err instanceof LongreachError && typeof err.details.retryAfterMs === 'number' ? err.details.retryAfterMs : 100;
      await new Promise((r) => setTimeout(r, Math.min(wait + 50, 2000)));
    }
  }
}

export interface Debugger {
  s: ClientSession;
  agent: AgentKind;
  program: Program;
  line(marker: string, file?: string): number;
  /** Every event received so far, in order. */
  events: { event: string; body: any }[];
  setBreakpoints(file: string, breakpoints: { line: number; condition?: string; hitCondition?: string; logMessage?: string }[]): Promise<any[]>;
  expectStopped(reason: string): Promise<any>;
  topFrame(): Promise<any>;
  frames(): Promise<any[]>;
  /** Variables of the frame's Locals scope, by name. */
  locals(frameId?: number): Promise<Map<string, any>>;
  evaluate(expression: string, frameId?: number): Promise<string>;
  resume(): Promise<void>;
}

/** Connect and attach (the program is waiting for configurationDone, which the scenario sends). */
export async function attach(t: TestContext, agent: AgentKind, program: Program, session?: ClientSession): Promise<Debugger> {
  const s = session ?? (await connectTo(program));
  t.after(() => s.close());
  const events: { event: string; body: any }[] = [];
  // Stopped events are queued, so one that arrives before the scenario asks for it is not lost.
  const stops: any[] = [];
  let stopWaiter: (() => void) | null = null;
  s.on('event', (event, body) => {
    events.push({ event, body });
    if (event === 'stopped') {
      stops.push(body);
      stopWaiter?.();
    }
  });
  const nextStop = async (): Promise<any> => {
    const deadline = Date.now() + WAIT_MS;
    while (stops.length === 0) {
      if (Date.now() > deadline) throw new Error(`no stopped event within ${WAIT_MS / 1000} s; events: ${JSON.stringify(events).slice(-1500)}`);
      if (s.closed) throw new Error(`connection closed before a stopped event; events: ${JSON.stringify(events).slice(-1500)}; agent stderr: ${program.stderr().slice(-1500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        stopWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      stopWaiter = null;
    }
    return stops.shift();
  };
  const initialized = s.waitForEvent('initialized', { timeoutMs: WAIT_MS });
  await s.request('attach', {});
  await initialized;
  const dbg: Debugger = {
    s,
    agent,
    program,
    events,
    line: (marker, file = agent.app) => markerLine(file, marker),
    async setBreakpoints(file, breakpoints) {
      const body = await s.request('setBreakpoints', { source: { path: file }, breakpoints });
      return body.breakpoints as any[];
    },
    async expectStopped(reason) {
      const body = await nextStop();
      assert.equal(body.reason, reason, `stopped for ${body.reason}, expected ${reason}: ${JSON.stringify(body)}`);
      return body;
    },
    async frames() {
      const threads = await s.request('threads');
      const body = await s.request('stackTrace', { threadId: threads.threads[0].id });
      return body.stackFrames;
    },
    async topFrame() {
      return (await dbg.frames())[0];
    },
    async locals(frameId) {
      const id = frameId ?? (await dbg.topFrame()).id;
      const { scopes } = await s.request('scopes', { frameId: id });
      const local = scopes.find((sc: any) => sc.name === 'Locals');
      assert.ok(local, `no Locals scope in ${JSON.stringify(scopes)}`);
      const { variables } = await s.request('variables', { variablesReference: local.variablesReference });
      return new Map(variables.map((v: any) => [v.name, v]));
    },
    async evaluate(expression, frameId) {
      const id = frameId ?? (await dbg.topFrame()).id;
      const body = await s.request('evaluate', { expression, frameId: id, context: 'repl' });
      return body.result as string;
    },
    async resume() {
      const threads = await s.request('threads');
      await s.request('continue', { threadId: threads.threads[0].id });
    },
  };
  return dbg;
}

export async function configurationDone(dbg: Debugger, exceptionFilters: string[] = []): Promise<void> {
  await dbg.s.request('setExceptionBreakpoints', { filters: exceptionFilters });
  await dbg.s.request('configurationDone');
}

/** Waits (bounded) for the program to end; returns its exit code. */
export async function exitCode(program: Program, ms = WAIT_MS): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still running after ${ms / 1000} s`), ms)));
  try {
    return await Promise.race([program.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
