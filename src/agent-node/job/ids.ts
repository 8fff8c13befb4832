// Numbering for a session over a whole job (docs/protocol.md 5.3), as the Python agent does it: the root's ids
// (threads, frames, variables, sources) stay as they are; a child's id n becomes slot * 2^31 + n, so no two
// processes' ids meet (every agent's ids stay below 2^31) and the result stays an exact JSON number (slots below
// 2^22). Plain arithmetic, not bit operations: JavaScript's are 32-bit.

export const SHIFT = 2 ** 31;
export const MAX_SLOT = 2 ** 22 - 1;

type Body = Record<string, unknown>;

const isId = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

export function join(slot: number, local: unknown): unknown {
  return slot === 0 || !isId(local) ? local : slot * SHIFT + local;
}

/** [slot, local] of a client-side id; null for something that is not an id. */
export function split(value: unknown): [number, number] | null {
  if (!isId(value)) return null;
  return [Math.floor(value / SHIFT), value % SHIFT];
}

const ARG_IDS = ['threadId', 'frameId', 'variablesReference', 'sourceReference'] as const;

/** The slot a request's arguments point at (by its first id), or 0 when they name no other process. */
export function routeOf(args: Body): number {
  for (const key of ARG_IDS) {
    const s = split(args[key]);
    if (s) return s[0];
  }
  const source = args.source;
  if (source !== null && typeof source === 'object') {
    const s = split((source as Body).sourceReference);
    if (s) return s[0];
  }
  return 0;
}

/** A copy of request arguments with client ids made local (for the process routeOf chose). */
export function inward(args: Body): Body {
  const out: Body = { ...args };
  for (const key of ARG_IDS) {
    const s = split(out[key]);
    if (s) out[key] = s[1];
  }
  if (out.source !== null && typeof out.source === 'object') {
    const source: Body = { ...(out.source as Body) };
    const s = split(source.sourceReference);
    if (s) source.sourceReference = s[1];
    out.source = source;
  }
  return out;
}

function sourceOut(source: unknown, slot: number): unknown {
  if (source === null || typeof source !== 'object' || !isId((source as Body).sourceReference)) return source;
  return { ...(source as Body), sourceReference: join(slot, (source as Body).sourceReference) };
}

function refsOut(value: unknown, slot: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  const out: Body = { ...(value as Body) };
  if ('variablesReference' in out) out.variablesReference = join(slot, out.variablesReference);
  if ('source' in out) out.source = sourceOut(out.source, slot);
  return out;
}

/** A response or event body from the process in `slot` with its ids made client-side; thread names get `prefix`. */
export function outward(body: unknown, slot: number, prefix = ''): unknown {
  if (slot === 0 || body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const out: Body = { ...(body as Body) };
  for (const key of ['threadId', 'variablesReference', 'frameId']) if (key in out) out[key] = join(slot, out[key]);
  if ('source' in out) out.source = sourceOut(out.source, slot);
  if (Array.isArray(out.threads)) {
    out.threads = out.threads.map((t: unknown) => (t !== null && typeof t === 'object' ? { ...(t as Body), id: join(slot, (t as Body).id), name: prefix + String((t as Body).name ?? '') } : t));
  }
  if (Array.isArray(out.stackFrames)) {
    out.stackFrames = out.stackFrames.map((f: unknown) => (f !== null && typeof f === 'object' ? { ...(f as Body), id: join(slot, (f as Body).id), source: sourceOut((f as Body).source, slot) } : f));
  }
  for (const key of ['scopes', 'variables']) if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).map((v) => refsOut(v, slot));
  delete out.hitBreakpointIds; // a child numbers breakpoints its own way: job-session.ts names the root's ids
  return out;
}
