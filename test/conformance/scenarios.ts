// THE scenario table shared by every agent. Each scenario drives one fixture run through the public wire
// contract only, so the same steps prove the Node.js and the Python agent behave alike. Where the languages
// differ (an expression's syntax), the scenario says so with a per-language value.

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { LongreachError } from '../../src/protocol/errors.js';
import { createTestCa, tempDir, writeTemp } from '../helpers/tls-fixtures.js';
import type { AgentKind, Lang } from './agents.js';
import { attach, configurationDone, connectTo, exitCode, startProgram, type Debugger } from './harness.js';

export interface Scenario {
  name: string;
  run(t: TestContext, agent: AgentKind): Promise<void>;
}

const byLang = (lang: Lang, values: Record<Lang, string>): string => values[lang];

/** Start the fixture in `mode`, attach, and hand over before configurationDone. */
async function begin(t: TestContext, agent: AgentKind, mode = 'plain'): Promise<Debugger> {
  const program = await startProgram(t, agent, mode);
  return attach(t, agent, program);
}

/** Clear every breakpoint we set, continue, and expect a clean exit with the program's normal output. */
async function finish(dbg: Debugger, files: string[] = [dbg.agent.app]): Promise<void> {
  for (const file of files) await dbg.setBreakpoints(file, []);
  await dbg.resume();
  assert.equal(await exitCode(dbg.program), 0, `stderr: ${dbg.program.stderr()}`);
  assert.match(dbg.program.stdout(), /result \d+ 300 3/);
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'breakpoint stop: stack shows the function and line, locals show values',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      const line = dbg.line('loop-body');
      const [bp] = await dbg.setBreakpoints(agent.app, [{ line }]);
      assert.equal(typeof bp.id, 'number');
      await configurationDone(dbg);
      const stopped = await dbg.expectStopped('breakpoint');
      assert.ok(stopped.threadId);
      const top = await dbg.topFrame();
      assert.equal(top.name, 'compute');
      assert.equal(top.line, line);
      assert.equal(top.source.path, agent.app);
      const locals = await dbg.locals();
      assert.equal(locals.get('n')?.value, '5');
      assert.equal(locals.get('total')?.value, '0');
      await finish(dbg);
    },
  },
  {
    name: 'conditional breakpoint stops only where the condition holds',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('loop-body'), condition: 'i == 3' }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      assert.equal(await dbg.evaluate('i'), '3');
      await finish(dbg);
    },
  },
  {
    name: 'hit-count breakpoint stops on the third hit',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('loop-body'), hitCondition: '3' }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      assert.equal(await dbg.evaluate('i'), '2');
      await finish(dbg);
    },
  },
  {
    name: 'log breakpoint prints without stopping',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('loop-body'), logMessage: 'value {i}' }]);
      const terminated = dbg.s.waitForEvent('terminated', { timeoutMs: 15_000 }).catch(() => undefined);
      await configurationDone(dbg);
      assert.equal(await exitCode(dbg.program), 0);
      await terminated; // every event the program sent before it ended has arrived
      const logged = dbg.events.filter((e) => e.event === 'output').map((e) => e.body.output as string).join('');
      for (let i = 0; i < 5; i++) assert.ok(logged.includes(`value ${i}\n`), `no "value ${i}" in ${JSON.stringify(logged)}`);
      assert.ok(!dbg.events.some((e) => e.event === 'stopped'), 'a log point must not stop');
    },
  },
  {
    name: 'step in, step out and step over across modules',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      const line = dbg.line('loop-body');
      await dbg.setBreakpoints(agent.app, [{ line }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      await dbg.setBreakpoints(agent.app, []);
      const tid = (await dbg.s.request('threads')).threads[0].id;
      await dbg.s.request('stepIn', { threadId: tid });
      await dbg.expectStopped('step');
      let top = await dbg.topFrame();
      assert.equal(top.name, 'helper');
      assert.equal(top.source.path, agent.helper);
      assert.equal(top.line, dbg.line('helper-body', agent.helper));
      await dbg.s.request('stepOut', { threadId: tid });
      await dbg.expectStopped('step');
      top = await dbg.topFrame();
      assert.equal(top.name, 'compute');
      // Back in the caller: on the calling line, or (both V8 and CPython do this) already on the loop header.
      assert.ok(top.line === line || top.line === line - 1, `stepOut went to line ${top.line}`);
      await dbg.s.request('next', { threadId: tid });
      await dbg.expectStopped('step');
      top = await dbg.topFrame();
      assert.equal(top.name, 'compute');
      assert.ok(top.line >= line - 1 && top.line <= dbg.line('compute-return'), `next went to line ${top.line}`);
      await finish(dbg);
    },
  },
  {
    name: 'stack trace paging with startFrame, levels and totalFrames',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('recurse-bottom') }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      const tid = (await dbg.s.request('threads')).threads[0].id;
      const first = await dbg.s.request('stackTrace', { threadId: tid, startFrame: 0, levels: 10 });
      assert.equal(first.stackFrames.length, 10);
      assert.ok(first.totalFrames >= 32, `totalFrames ${first.totalFrames}`);
      const page = await dbg.s.request('stackTrace', { threadId: tid, startFrame: 10, levels: 5 });
      assert.equal(page.stackFrames.length, 5);
      for (const f of page.stackFrames) assert.equal(f.name, 'recurse');
      const ids = new Set([...first.stackFrames, ...page.stackFrames].map((f: any) => f.id));
      assert.equal(ids.size, 15, 'frame ids are distinct');
      await finish(dbg);
    },
  },
  {
    name: 'scopes and variables, with paging through a 300-element list',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('call-compute') }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      const locals = await dbg.locals();
      const items = locals.get('items');
      assert.ok(items?.variablesReference > 0, 'items can be expanded');
      const page = await dbg.s.request('variables', { variablesReference: items.variablesReference, start: 100, count: 10 });
      assert.deepEqual(page.variables.map((v: any) => v.name), Array.from({ length: 10 }, (_, i) => String(100 + i)));
      assert.deepEqual(page.variables.map((v: any) => v.value), Array.from({ length: 10 }, (_, i) => String((100 + i) * 10)));
      const data = locals.get('data');
      const children = await dbg.s.request('variables', { variablesReference: data.variablesReference });
      const names = children.variables.map((v: any) => v.name).join(' ');
      for (const key of ['name', 'count', 'nested']) assert.ok(names.includes(key), `${key} in ${names}`);
      await finish(dbg);
    },
  },
  {
    name: 'evaluate in a frame, and a failing expression is an error response',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('loop-body') }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      assert.equal(await dbg.evaluate('n * 2'), '10');
      await assert.rejects(dbg.evaluate('no_such_name_here + 1'), (err: unknown) => err instanceof LongreachError);
      await finish(dbg);
    },
  },
  {
    name: 'setVariable changes what the program computes',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('loop-body') }, { line: dbg.line('compute-return') }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      const top = await dbg.topFrame();
      const { scopes } = await dbg.s.request('scopes', { frameId: top.id });
      const local = scopes.find((s: any) => s.name === 'Locals');
      const set = await dbg.s.request('setVariable', { variablesReference: local.variablesReference, name: 'total', value: '100' });
      assert.equal(set.value, '100');
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('compute-return') }]);
      await dbg.resume();
      await dbg.expectStopped('breakpoint');
      assert.equal(await dbg.evaluate('total'), '120');
      await finish(dbg);
    },
  },
  {
    name: 'raised exception stop with exceptionInfo',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await configurationDone(dbg, ['raised']);
      await dbg.expectStopped('exception');
      const top = await dbg.topFrame();
      assert.equal(top.line, dbg.line('raise'));
      const tid = (await dbg.s.request('threads')).threads[0].id;
      const info = await dbg.s.request('exceptionInfo', { threadId: tid });
      assert.match(JSON.stringify(info), /boom caught/);
      await dbg.s.request('setExceptionBreakpoints', { filters: [] });
      await finish(dbg);
    },
  },
  {
    name: 'uncaught exception stop, then the program ends with its usual failure',
    async run(t, agent) {
      const dbg = await begin(t, agent, 'uncaught');
      await configurationDone(dbg, ['uncaught']);
      await dbg.expectStopped('exception');
      const frames = await dbg.frames();
      assert.ok(frames.some((f) => f.line === dbg.line('raise')), `no frame at the raise: ${JSON.stringify(frames)}`);
      const tid = (await dbg.s.request('threads')).threads[0].id;
      assert.match(JSON.stringify(await dbg.s.request('exceptionInfo', { threadId: tid })), /boom uncaught/);
      await dbg.resume();
      assert.notEqual(await exitCode(dbg.program), 0);
      assert.match(dbg.program.stderr(), /boom uncaught/);
    },
  },
  {
    name: 'pause a busy loop, change a variable, and let the program finish',
    async run(t, agent) {
      const dbg = await begin(t, agent, 'busy');
      await configurationDone(dbg);
      await new Promise((r) => setTimeout(r, 300));
      const tid = (await dbg.s.request('threads')).threads[0].id;
      await dbg.s.request('pause', { threadId: tid });
      await dbg.expectStopped('pause');
      const frames = await dbg.frames();
      assert.ok(frames.some((f) => f.name === 'busy'), `busy() on the stack: ${JSON.stringify(frames.map((f) => f.name))}`);
      await dbg.s.request('evaluate', { expression: byLang(agent.lang, { node: 'spin = 0', python: "globals().__setitem__('spin', 0)" }), frameId: frames[0].id, context: 'repl' });
      await finish(dbg, []);
    },
  },
  {
    name: 'threads lists the main thread',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      const { threads } = await dbg.s.request('threads');
      assert.ok(threads.length >= 1);
      assert.equal(typeof threads[0].id, 'number');
      assert.equal(typeof threads[0].name, 'string');
      await configurationDone(dbg);
      assert.equal(await exitCode(dbg.program), 0);
    },
  },
  {
    name: 'source returns the remote file text',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      const body = await dbg.s.request('source', { source: { path: agent.helper } });
      assert.match(body.content, /@helper-body/);
      await configurationDone(dbg);
      assert.equal(await exitCode(dbg.program), 0);
    },
  },
  {
    name: 'the program ending while attached sends exited and terminated',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      const exited = dbg.s.waitForEvent('exited', { timeoutMs: 15_000 });
      const terminated = dbg.s.waitForEvent('terminated', { timeoutMs: 15_000 });
      await configurationDone(dbg);
      assert.equal((await exited).exitCode, 0);
      await terminated;
      assert.equal(await exitCode(dbg.program), 0);
    },
  },
  {
    name: 'a step is followed by continued (all threads) then its stop; continue is answered by its response alone',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('loop-body') }]);
      await configurationDone(dbg);
      const stop = await dbg.expectStopped('breakpoint');
      await dbg.setBreakpoints(agent.app, []);
      const mark = dbg.events.length;
      await dbg.s.request('next', { threadId: stop.threadId });
      await dbg.expectStopped('step');
      const seen = dbg.events.slice(mark).filter((e) => e.event === 'continued' || e.event === 'stopped');
      assert.deepEqual(seen.map((e) => e.event), ['continued', 'stopped']);
      assert.deepEqual(seen[0]?.body, { threadId: stop.threadId, allThreadsContinued: true });
      const afterStep = dbg.events.length;
      const terminated = dbg.s.waitForEvent('terminated', { timeoutMs: 15_000 });
      await finish(dbg);
      await terminated; // every event the program sent before it ended has arrived
      assert.ok(!dbg.events.slice(afterStep).some((e) => e.event === 'continued'), 'no continued after continue');
    },
  },
  {
    name: 'terminate sends exited then terminated and ends the program',
    async run(t, agent) {
      const dbg = await begin(t, agent, 'busy');
      await configurationDone(dbg);
      const terminated = dbg.s.waitForEvent('terminated', { timeoutMs: 15_000 });
      await dbg.s.request('terminate', {});
      await terminated;
      const ends = dbg.events.filter((e) => e.event === 'exited' || e.event === 'terminated');
      assert.deepEqual(ends.map((e) => e.event), ['exited', 'terminated']);
      // Python ends the program as sys.exit(0); Node.js sends SIGTERM (status 128 + 15 without a handler).
      assert.deepEqual(ends[0]?.body, { exitCode: agent.lang === 'python' ? 0 : 143 });
      assert.equal(await exitCode(dbg.program), agent.lang === 'python' ? 0 : 'SIGTERM');
    },
  },
  {
    name: 'detach while stopped: the program continues and finishes normally',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('loop-body') }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      await dbg.s.disconnect();
      assert.equal(await exitCode(dbg.program), 0);
      assert.match(dbg.program.stdout(), /result 51 300 3/);
    },
  },
  {
    name: 're-attach after a detach and stop again',
    async run(t, agent) {
      const first = await begin(t, agent, 'busy');
      const line = first.line('busy-loop');
      await first.setBreakpoints(agent.app, [{ line }]);
      await configurationDone(first);
      await first.expectStopped('breakpoint');
      await first.s.disconnect();
      const second = await attach(t, agent, first.program);
      await second.setBreakpoints(agent.app, [{ line }]);
      await second.s.request('configurationDone');
      await second.expectStopped('breakpoint');
      assert.equal((await second.topFrame()).name, 'busy');
      await second.evaluate(byLang(agent.lang, { node: 'spin = 0', python: "globals().__setitem__('spin', 0)" }));
      await finish(second);
    },
  },
  {
    name: 'a client killed while the program is stopped lets it resume',
    async run(t, agent) {
      const dbg = await begin(t, agent);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('loop-body') }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      dbg.s.close();
      assert.equal(await exitCode(dbg.program, 5000), 0);
      assert.match(dbg.program.stdout(), /result 51 300 3/);
    },
  },
  {
    name: 'a wrong secret is refused with LR_AUTH_FAILED and the program is unaffected',
    async run(t, agent) {
      const program = await startProgram(t, agent, 'plain');
      await assert.rejects(connectTo(program, { secret: 'not-the-secret' }), (err: unknown) => err instanceof LongreachError && err.code === 'LR_AUTH_FAILED');
      const dbg = await attach(t, agent, program);
      await configurationDone(dbg);
      assert.equal(await exitCode(program), 0);
    },
  },
  {
    name: 'TLS: attach over tcps:// with a CA-signed certificate and stop at a breakpoint',
    async run(t, agent) {
      const ca = await createTestCa();
      const leaf = await ca.issue(['127.0.0.1', 'localhost']);
      const dir = tempDir(t);
      const certfile = writeTemp(dir, 'cert.pem', leaf.certPem);
      const keyfile = writeTemp(dir, 'key.pem', leaf.keyPem);
      const caFile = writeTemp(dir, 'ca.pem', ca.certPem);
      const program = await startProgram(t, agent, 'plain', { tls: { certfile, keyfile } });
      const session = await connectTo(program, { scheme: 'tcps', ca: caFile });
      const dbg = await attach(t, agent, program, session);
      await dbg.setBreakpoints(agent.app, [{ line: dbg.line('compute-return') }]);
      await configurationDone(dbg);
      await dbg.expectStopped('breakpoint');
      assert.equal(await dbg.evaluate('total'), '20');
      await finish(dbg);
    },
  },
];
