// Tab completion: command names, fixed arguments, and expressions through the agent's `completions` request.

import type { Debugger } from '../../client/debugger.js';
import { COMMANDS, commandWords, findCommand } from './commands.js';

const EXPRESSION_COMMANDS = new Set(['print', 'expand', 'set', 'table', 'stats']);
const FIXED: Record<string, string[]> = {
  info: ['breakpoints'],
  catch: ['raised', 'uncaught', 'off'],
  help: COMMANDS.map((c) => c.name),
};

/** Returns [candidates, the text they replace], as node:readline expects. */
export async function complete(dbg: Debugger, line: string): Promise<[string[], string]> {
  const space = line.search(/\s/);
  if (space < 0) {
    const words = commandWords().filter((w) => !w.includes(' ') && w.startsWith(line));
    return [words.length === 1 ? [`${words[0]} `] : words, line];
  }
  const spec = findCommand(line.slice(0, space));
  if (!spec) return [[], line];
  const rest = line.slice(space).trimStart();
  const fixed = FIXED[spec.name];
  if (fixed) {
    const word = /\S*$/.exec(rest)?.[0] ?? '';
    return [fixed.filter((f) => f.startsWith(word)), word];
  }
  if (!EXPRESSION_COMMANDS.has(spec.name) || !dbg.stop) return [[], ''];
  const token = /[A-Za-z_][\w]*$/.exec(rest)?.[0] ?? '';
  let targets: string[];
  try {
    targets = await dbg.completions(rest);
  } catch {
    return [[], token];
  }
  const names = [...new Set(targets.map((t) => t.slice(t.lastIndexOf('.') + 1)).filter((t) => t.startsWith(token)))].sort();
  return [names, token];
}
