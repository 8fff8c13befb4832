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
}

/** The condition V8 should evaluate, or '' for an unconditional breakpoint. Throws on a bad hitCondition. */
export function buildCondition(options: BreakpointOptions, agentGlobal: string): string {
  const agent = `globalThis[Symbol.for(${JSON.stringify(agentGlobal)})]`;
  const hasCond = options.condition !== undefined && options.condition.trim() !== '';
  const hit = options.hitCondition !== undefined && options.hitCondition.trim() !== '' ? parseHitCondition(options.hitCondition) : null;
  const hasLog = options.logMessage !== undefined && options.logMessage !== '';
  if (!hasCond && !hit && !hasLog) return '';
  const clauses: string[] = [];
  if (hasCond) clauses.push(`(${options.condition})`);
  if (hit) {
    const count = `${agent}.hit(${JSON.stringify(options.key)})`;
    clauses.push(hit.op === '%' ? `${count} % ${hit.n} === 0` : `${count} ${hit.op === '==' ? '===' : hit.op} ${hit.n}`);
  }
  if (hasLog) clauses.push(`(${agent}.log(${logMessageExpression(options.logMessage!)} + "\\n"), false)`);
  return clauses.join(' && ');
}
