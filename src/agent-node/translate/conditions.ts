// Breakpoint options (condition, hitCondition, logMessage) → one V8 breakpoint condition. V8 evaluates the
// condition in the paused frame; a false result means "do not stop". Hit counts and log output go through a
// hidden global the agent installs in the main thread (see AGENT_GLOBAL), so counting needs no pause.

export interface HitCondition {
  op: '==' | '>=' | '>' | '<' | '<=' | '%';
  n: number;
}

const HIT = /^\s*(==|>=|<=|>|<|%)?\s*(\d+)\s*$/;

/** '5', '==5', '>=5', '>5', '<5', '<=5', '%5' (the same forms as the Python agent). Throws with advice. */
export function parseHitCondition(text: string): HitCondition {
  const m = HIT.exec(text);
  if (!m) throw new Error(`hit condition ${JSON.stringify(text)} is not understood; use a number, or ==N, >N, >=N, <N, <=N, %N`);
  const op = (m[1] ?? '==') as HitCondition['op'];
  const n = Number(m[2]);
  if (op === '%' && n === 0) throw new Error('hit condition %0 divides by zero');
  return { op, n };
}

/** "x is {x}, y={a.b}" → a JavaScript expression building that text (`{{` and `}}` are literal braces). */
export function logMessageExpression(message: string): string {
  const parts: string[] = [];
  let text = '';
  for (let i = 0; i < message.length; i++) {
    const c = message[i]!;
    if ((c === '{' || c === '}') && message[i + 1] === c) {
      text += c;
      i++;
    } else if (c === '{') {
      const end = message.indexOf('}', i + 1);
      if (end < 0) throw new Error(`log message ${JSON.stringify(message)} has an unclosed {; write {{ for a literal brace`);
      const expr = message.slice(i + 1, end).trim();
      if (text) parts.push(JSON.stringify(text));
      text = '';
      if (expr) parts.push(`(() => { try { return String(${expr}); } catch (e) { return '<' + (e && e.name) + ': ' + (e && e.message) + '>'; } })()`);
      i = end;
    } else {
      text += c;
    }
  }
  if (text) parts.push(JSON.stringify(text));
  return parts.length ? parts.join(' + ') : '""';
}

export interface BreakpointOptions {
  /** A key unique in this debugging session, used for the hit counter. */
  key: string;
  condition?: string | undefined;
  hitCondition?: string | undefined;
  logMessage?: string | undefined;
  /** Prefixes the log text with logTag(tag), so the agent can tell whose output it is (see untagLog). */
  tag?: string | undefined;
  /** A condition that throws counts as true, with the error as log output (as a compiled breakpoint does). */
  reportErrors?: boolean | undefined;
}

/** A statement that logs "breakpoint condition raised Name: message" for the error in variable `err`; never throws. */
export function reportConditionError(agentGlobal: string, tag: string, err: string): string {
  const agent = `globalThis[Symbol.for(${JSON.stringify(agentGlobal)})]`;
  const prefix = tag ? `${JSON.stringify(logTag(tag))} + ` : '';
  return `try { ${agent}.log(${prefix}"breakpoint condition raised " + ((${err} && ${err}.name) || typeof ${err}) + ": " + ((${err} && ${err}.message) || String(${err})) + "\\n"); } catch {}`;
}

/** The marker in front of a tagged log line (NUL, tag, NUL: never in a breakpoint key). */
export function logTag(tag: string): string {
  return `\u0000${tag}\u0000`;
}

/** A log line without its tag, and the tag ('' when it had none). */
export function untagLog(text: string): { tag: string; text: string } {
  const end = text.startsWith('\u0000') ? text.indexOf('\u0000', 1) : -1;
  return end < 0 ? { tag: '', text } : { tag: text.slice(1, end), text: text.slice(end + 1) };
}

/** The condition V8 should evaluate, or '' for an unconditional breakpoint. Throws on a bad hitCondition. */
export function buildCondition(options: BreakpointOptions, agentGlobal: string): string {
  const agent = `globalThis[Symbol.for(${JSON.stringify(agentGlobal)})]`;
  const hasCond = options.condition !== undefined && options.condition.trim() !== '';
  const hit = options.hitCondition !== undefined && options.hitCondition.trim() !== '' ? parseHitCondition(options.hitCondition) : null;
  const hasLog = options.logMessage !== undefined && options.logMessage !== '';
  if (!hasCond && !hit && !hasLog) return '';
  const clauses: string[] = [];
  if (hasCond && options.reportErrors) {
    const report = reportConditionError(agentGlobal, options.tag ?? '', '$lr_e');
    clauses.push(`(() => { try { return (${options.condition}); } catch ($lr_e) { ${report} return true; } })()`);
  } else if (hasCond) clauses.push(`(${options.condition})`);
  if (hit) {
    const count = `${agent}.hit(${JSON.stringify(options.key)})`;
    clauses.push(hit.op === '%' ? `${count} % ${hit.n} === 0` : `${count} ${hit.op === '==' ? '===' : hit.op} ${hit.n}`);
  }
  const tag = options.tag ? `${JSON.stringify(logTag(options.tag))} + ` : '';
  if (hasLog) clauses.push(`(${agent}.log(${tag}${logMessageExpression(options.logMessage!)} + "\\n"), false)`);
  return clauses.join(' && ');
}
