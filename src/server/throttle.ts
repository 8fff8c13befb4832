// Per-address throttling of failed authentication (docs/protocol.md section 4.5).

const FORGET_AFTER_MS = 10 * 60 * 1000;
const MAX_PENALTY_MS = 30_000;

interface Record {
  failures: number;
  blockedUntil: number;
  lastFailure: number;
}

export class Throttle {
  readonly #baseMs: number;
  readonly #now: () => number;
  readonly #records = new Map<string, Record>();

  constructor({ baseMs = 250, now = Date.now }: { baseMs?: number; now?: () => number } = {}) {
    this.#baseMs = baseMs;
    this.#now = now;
  }

  /** Milliseconds the address must still wait, or 0 when it may try now. */
  retryAfter(address: string): number {
    const record = this.#current(address);
    return record ? Math.max(0, record.blockedUntil - this.#now()) : 0;
  }

  failed(address: string): void {
    const now = this.#now();
    const record = this.#current(address) ?? { failures: 0, blockedUntil: 0, lastFailure: now };
    record.failures += 1;
    record.lastFailure = now;
    record.blockedUntil = now + Math.min(this.#baseMs * 2 ** (record.failures - 1), MAX_PENALTY_MS);
    this.#records.set(address, record);
    if (this.#records.size > 10_000) this.#prune(now);
  }

  succeeded(address: string): void {
    this.#records.delete(address);
  }

  #current(address: string): Record | undefined {
    const record = this.#records.get(address);
    if (record && this.#now() - record.lastFailure > FORGET_AFTER_MS) {
      this.#records.delete(address);
      return undefined;
    }
    return record;
  }

  #prune(now: number): void {
    for (const [address, record] of this.#records) {
      if (now - record.lastFailure > FORGET_AFTER_MS) this.#records.delete(address);
    }
  }
}
