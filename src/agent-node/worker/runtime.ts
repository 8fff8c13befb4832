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

/** How long release() waits for a resumed stop to end before it disconnects anyway. */
const RELEASE_TIMEOUT_MS = 1000;

export class V8Runtime extends EventEmitter<RuntimeEvents> {
  readonly cdp: CdpChannel;
  readonly scripts = new Map<string, ScriptInfo>();
  #debuggerOn = false;
  #enabling: Promise<void> | null = null;
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
        const info: ScriptInfo = { scriptId: s.scriptId, url: s.url, sourceMapURL: s.sourceMapURL ?? '' };
        this.scripts.set(s.scriptId, info);
        this.emit('script', info);
      }),
      this.cdp.on('Debugger.breakpointResolved', (r) => this.emit('breakpointResolved', r)),
    ];
  }

  /** Switches the Debugger domain on (idempotent). V8 replays scriptParsed for every loaded script. */
  enableDebugger(): Promise<void> {
    if (this.#debuggerOn) return this.#enabling ?? Promise.resolve();
    this.#debuggerOn = true;
    this.#enabling = (async () => {
      await this.cdp.post('Debugger.enable', { maxScriptsCacheSize: 10_000_000 });
      await this.cdp.post('Debugger.setBlackboxPatterns', { patterns: BLACKBOX }).catch(() => undefined);
      this.#enabling = null;
    })();
    return this.#enabling;
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
   * Ends the session once the main thread runs again. A stop is resumed first (breakpoints off, so that the
   * program cannot stop again before the disconnect) and its end awaited: a stop that ends only with the
   * disconnect lasts until the main thread has served every inspector message already queued, so a session
   * connected right after would be told of it as a stop of its own, then see the program resume under it.
   */
  async release(timeoutMs = RELEASE_TIMEOUT_MS): Promise<void> {
    if (this.#paused && this.cdp.connected) {
      let off = (): void => undefined;
      let timer: NodeJS.Timeout | undefined;
      const resumed = new Promise<void>((resolve) => {
        off = this.cdp.on('Debugger.resumed', () => resolve());
        timer = setTimeout(resolve, timeoutMs);
      });
      await this.cdp.post('Debugger.setBreakpointsActive', { active: false }).catch(() => undefined);
      await this.cdp.post('Debugger.setPauseOnExceptions', { state: 'none' }).catch(() => undefined);
      await this.cdp.post('Debugger.resume').catch(() => undefined);
      await resumed;
      off();
      clearTimeout(timer);
    }
    this.disconnect();
  }

  /** Ends the session: V8 drops breakpoints and resumes the main thread. */
  disconnect(): void {
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#debuggerOn = false;
    this.#paused = null;
    this.scripts.clear();
    this.cdp.disconnect();
  }
}
