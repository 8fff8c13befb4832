// The V8 side of a debugging session, independent of DAP: the connection to the main thread's inspector,
// the Debugger domain switched on only while something needs it, the scripts V8 reported, and the pause state.
// It emits 'paused', 'resumed', 'script' and 'breakpointResolved'; the DAP session decides what they mean.

import { EventEmitter } from 'node:events';
import { Cdp, type CdpChannel } from '../inspector/cdp.js';
import type { RemoteObject } from '../translate/values.js';

export interface ScriptInfo {
  scriptId: string;
  url: string;
  sourceMapURL: string;
  /** Its last line, 0-based (V8's endLine). */
  endLine: number;
}

export interface CallFrame {
  callFrameId: string;
  functionName: string;
  location: { scriptId: string; lineNumber: number; columnNumber?: number };
  url: string;
  scopeChain: { type: string; object: RemoteObject; name?: string; startLocation?: unknown }[];
  this: RemoteObject;
}

export interface PauseState {
  reason: string;
  callFrames: CallFrame[];
  hitBreakpoints: string[];
  data?: any;
}

export interface RuntimeEvents {
  paused: [PauseState];
  resumed: [];
  script: [ScriptInfo];
  breakpointResolved: [{ breakpointId: string; location: { scriptId: string; lineNumber: number; columnNumber?: number } }];
}

/** Frames of node's own code are skipped when stepping. */
const BLACKBOX = ['^node:', '^internal[/:]'];

/** How long release() waits for a resumed stop to end, and for the Debugger domain to go off, before going on. */
const RELEASE_TIMEOUT_MS = 1000;

/** `promise`, or nothing once `ms` have passed. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export class V8Runtime extends EventEmitter<RuntimeEvents> {
  readonly cdp: CdpChannel;
  readonly scripts = new Map<string, ScriptInfo>();
  #debuggerOn = false;
  #enabling: Promise<void> | null = null;
  /** release() has begun: the Debugger domain stays off. */
  #releasing = false;
  #paused: PauseState | null = null;
  #unsubscribe: (() => void)[] = [];
  readonly #hiddenUrls: Set<string>;
  readonly #hiddenScripts = new Set<string>();

  /** `cdp`: the main thread's inspector by default; a worker_threads worker's channel for that worker. */
  constructor(hiddenUrls: string[], cdp: CdpChannel = new Cdp()) {
    super();
    this.cdp = cdp;
    this.#hiddenUrls = new Set(hiddenUrls);
  }

  get paused(): PauseState | null {
    return this.#paused;
  }

  /** True for the agent's own scripts (their frames are never shown to the user). */
  isHidden(scriptId: string): boolean {
    return this.#hiddenScripts.has(scriptId);
  }

  get debuggerOn(): boolean {
    return this.#debuggerOn;
  }

  connect(): void {
    this.cdp.connect();
    this.#unsubscribe = [
      this.cdp.on('Debugger.paused', (p: PauseState) => {
        this.#paused = { reason: p.reason, callFrames: p.callFrames, hitBreakpoints: p.hitBreakpoints ?? [], data: p.data };
        this.emit('paused', this.#paused);
      }),
      this.cdp.on('Debugger.resumed', () => {
        this.#paused = null;
        this.emit('resumed');
      }),
      this.cdp.on('Debugger.scriptParsed', (s: ScriptInfo & { url: string }) => {
        if (this.#hiddenUrls.has(s.url)) {
          this.#hiddenScripts.add(s.scriptId);
          return;
        }
        const info: ScriptInfo = { scriptId: s.scriptId, url: s.url, sourceMapURL: s.sourceMapURL ?? '', endLine: s.endLine ?? 0 };
        this.scripts.set(s.scriptId, info);
        this.emit('script', info);
      }),
      this.cdp.on('Debugger.breakpointResolved', (r) => this.emit('breakpointResolved', r)),
    ];
  }

  /** Switches the Debugger domain on (idempotent). V8 replays scriptParsed for every loaded script. */
  enableDebugger(): Promise<void> {
    if (this.#debuggerOn || this.#releasing) return this.#enabling ?? Promise.resolve();
    this.#debuggerOn = true;
    this.#enabling = (async () => {
      await this.cdp.post('Debugger.enable', { maxScriptsCacheSize: 10_000_000 });
      await this.cdp.post('Debugger.setBlackboxPatterns', { patterns: BLACKBOX }).catch(() => undefined);
      this.#enabling = null;
    })();
    return this.#enabling;
  }

  /** From now on nothing switches the Debugger domain on again: the session is letting this runtime go. */
  refuseDebugger(): void {
    this.#releasing = true;
  }

  /** Switches the Debugger domain off: V8 forgets every breakpoint and resumes. */
  async disableDebugger(): Promise<void> {
    if (!this.#debuggerOn) return;
    await this.#enabling?.catch(() => undefined);
    this.#debuggerOn = false;
    this.scripts.clear();
    this.#paused = null;
    await this.cdp.post('Debugger.disable').catch(() => undefined);
  }

  /**
   * Ends the session once the main thread runs again, leaving V8 as the next session must find it. A stop is resumed
   * first (every pause skipped, so that the program cannot stop again before the Debugger domain goes off) and its
   * end awaited: a stop that ends only later lasts until the main thread has served every inspector message already
   * queued, so the next session would be told of it as a stop of its own, then see the program resume under it. Then
   * the Debugger domain goes off, which drops every breakpoint and puts pause-on-exceptions, skip-all-pauses, the
   * blackbox patterns and the async stack depth back to V8's defaults (this agent never deactivates breakpoints:
   * that one setting outlives Debugger.disable). Only once V8 has answered does this session stop listening, so no
   * event of its own reaches the next one. Last, disconnect() ends the channel (the kept main-thread session: the
   * loan, see inspector/cdp.ts Lease, which releases the session's object groups). Bounded: a main thread that
   * serves no inspector message (blocked in a system call) does not hold the next attach forever; the inspector serves
   * the session's messages in order, so whatever the next session sends comes after this one's Debugger.disable.
   */
  async release(timeoutMs = RELEASE_TIMEOUT_MS): Promise<void> {
    this.refuseDebugger(); // a request still under way
    if (this.cdp.connected) {
      if (this.#paused) {
        let off = (): void => undefined;
        const resumed = new Promise<void>((resolve) => {
          off = this.cdp.on('Debugger.resumed', () => resolve());
          if (!this.#paused) resolve(); // it ran on before this listener was there
        });
        const resume = async (): Promise<void> => {
          await this.cdp.post('Debugger.setSkipAllPauses', { skip: true }).catch(() => undefined);
          await this.cdp.post('Debugger.setPauseOnExceptions', { state: 'none' }).catch(() => undefined);
          await this.cdp.post('Debugger.resume').catch(() => undefined);
          await resumed;
        };
        await within(resume(), timeoutMs);
        off();
      }
      // Sent in any case, after any Debugger.enable already sent (the inspector serves a session's messages in order).
      await within(this.cdp.post('Debugger.disable').catch(() => undefined), timeoutMs);
    }
    this.disconnect();
  }

  /** Ends the channel (a worker's: V8 drops its breakpoints and resumes it; a loan of the kept session: release). */
  disconnect(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#debuggerOn = false;
    this.#paused = null;
    this.scripts.clear();
    this.cdp.disconnect();
  }
}
