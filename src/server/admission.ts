// Who may wait at the gate without having authenticated (docs/protocol.md section 4.6), in the manner of
// OpenSSH's MaxStartups: a cap per source address, and beyond `start` pending connections a random early drop
// whose probability rises from `rate` to 1 at `full`. A connection holds its place until it authenticates or
// closes; an authenticated session is never displaced.

import { randomInt } from 'node:crypto';

export const PER_SOURCE = 8;

export interface AdmissionOptions {
  perSource?: number;
  start?: number;
  rate?: number;
  full?: number;
  /** A number in [0, 1); the default draws from the operating system's random source. */
  random?: () => number;
}

/** A place at the gate; `release()` gives it back (idempotent). */
export interface Ticket {
  release(): void;
}

export class Admission {
  readonly perSource: number;
  readonly start: number;
  readonly rate: number;
  readonly full: number;
  readonly #random: () => number;
  readonly #bySource = new Map<string, number>();
  #total = 0;

  constructor({ perSource = PER_SOURCE, start = 16, rate = 0.3, full = 48, random }: AdmissionOptions = {}) {
    this.perSource = perSource;
    this.start = start;
    this.rate = rate;
    this.full = Math.max(full, start);
    this.#random = random ?? (() => randomInt(0, 2 ** 32) / 2 ** 32);
  }

  get pending(): number {
    return this.#total;
  }

  /** A ticket when a new pending connection from `ip` may wait, or null when it must be refused. */
  admit(ip: string): Ticket | null {
    const mine = this.#bySource.get(ip) ?? 0;
    if (mine >= this.perSource || this.#total >= this.full) return null;
    if (this.#total >= this.start) {
      const refuse = this.rate + ((1 - this.rate) * (this.#total - this.start)) / Math.max(1, this.full - this.start);
      if (this.#random() < refuse) return null;
    }
    this.#bySource.set(ip, mine + 1);
    this.#total++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        const now = this.#bySource.get(ip) ?? 0;
        if (now <= 1) this.#bySource.delete(ip);
        else this.#bySource.set(ip, now - 1);
        this.#total--;
      },
    };
  }
}
