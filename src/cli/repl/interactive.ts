// The interactive prompt: readline with completion and persistent history. Events are printed above the prompt
// as they arrive; Ctrl-C pauses the program (not the client); Ctrl-D or `detach` leave it running.

import { clearLine, createInterface, cursorTo } from 'node:readline';
import type { Debugger } from '../../client/debugger.js';
import type { Io } from '../io.js';
import { TextSink, type Style } from '../render/text.js';
import { complete } from './complete.js';
import { Controller, type Sink } from './controller.js';
import { History, historyPath } from './history.js';

export async function runRepl(dbg: Debugger, io: Io, style: Style, onStart: (sink: Sink) => void): Promise<number> {
  const terminal = io.stdin.isTTY === true && io.stdout.isTTY === true;
  const history = new History(historyPath(io.env));
  const prompt = `${style.bold('(longreach)')} `;
  const rl = createInterface({
    input: io.stdin,
    output: io.stdout,
    terminal,
    prompt,
    history: history.load().reverse(),
    historySize: 1000,
    removeHistoryDuplicates: true,
    completer: (line: string, callback: (err: null, result: [string[], string]) => void) => {
      complete(dbg, line).then((r) => callback(null, r), () => callback(null, [[], line]));
    },
  });
  let busy = false;
  let finished = false;
  const write = (text: string): void => {
    if (finished || busy || !terminal) {
      io.stdout.write(text);
      return;
    }
    clearLine(io.stdout as NodeJS.WritableStream & { isTTY: true } as never, 0);
    cursorTo(io.stdout as never, 0);
    io.stdout.write(text);
    rl.prompt(true);
  };
  const sink = new TextSink(write, style);
  const controller = new Controller(dbg, sink, {
    timeoutMs: null,
    waitForStop: false,
    confirm: (question) =>
      terminal ? new Promise((resolve) => rl.question(`${question} [y/N] `, (answer) => resolve(/^y(es)?$/i.test(answer.trim())))) : Promise.resolve(true),
  });
  onStart(sink);
  if (!dbg.stop) write('Ctrl-C pauses the program; type help for the commands.\n');

  return new Promise<number>((resolve) => {
    const queue: string[] = [];
    const finish = async (): Promise<void> => {
      if (finished) return;
      finished = true;
      if (dbg.state !== 'closed') {
        await controller.execute('detach');
      }
      await controller.flush();
      sink.flushOutput();
      rl.close();
      resolve(0);
    };
    const pump = async (): Promise<void> => {
      if (busy) return;
      while (queue.length > 0 && !finished) {
        const line = queue.shift()!;
        busy = true;
        history.add(line);
        const report = await controller.execute(line);
        busy = false;
        if (report?.result?.kind === 'detached' || report?.result?.kind === 'killed' || dbg.state === 'closed') {
          await finish();
          return;
        }
      }
      if (!finished) rl.prompt();
    };
    rl.on('line', (line) => {
      if (line.trim() === '') {
        if (!busy) rl.prompt();
        return;
      }
      queue.push(line);
      void pump();
    });
    rl.on('SIGINT', () => {
      if (dbg.state === 'running') {
        io.stdout.write('^C\n');
        if (busy) dbg.pause().catch((err: Error) => io.stdout.write(`could not pause: ${err.message}\n`));
        else {
          queue.push('pause');
          void pump();
        }
        return;
      }
      // Stopped: Ctrl-C just drops the line being typed, as in a shell.
      io.stdout.write('^C\n');
      (rl as unknown as { line: string }).line = '';
      if (!busy) rl.prompt();
    });
    rl.on('close', () => void finish());
    dbg.on('closed', () => {
      if (!busy) void controller.flush().then(() => finish());
    });
    rl.prompt();
  });
}
