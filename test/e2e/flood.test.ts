// A flood must not lock the user out (issue 11): while 500 connections from 127.0.0.2 send half a header and then
// nothing, a client from 127.0.0.1 lists and attaches normally, and the program does not grow a thread per
// waiting connection. Both agents, through the client library.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { listProcesses } from '../../src/client/index.js';
import { AGENTS } from '../conformance/agents.js';
import { attach, configurationDone, connectTo, exitCode, SECRET, startProgram } from '../conformance/harness.js';

const FLOOD = 500;

function threadCount(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).length;
}

/** One connection from 127.0.0.2 that sends half a header and then nothing; resolves once connected. */
function halfHeader(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }, () => {
      socket.write('Content-Len');
      resolve(socket);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // the agent refuses connections beyond its caps: a reset is expected, a failure to connect is not
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
  });
}

for (const agent of AGENTS) {
  test(`${agent.lang} agent: a flood of idle half-header connections does not lock the user out`, { timeout: 90_000 }, async (t) => {
    const program = await startProgram(t, agent, 'plain');
    const pid = program.child.pid!;
    // a first, normal connection: the agent is up (and the Python agent's gate thread exists)
    const probe = await connectTo(program);
    await probe.disconnect();
    const before = threadCount(pid);

    const flood: Socket[] = [];
    t.after(() => flood.forEach((s) => s.destroy()));
    for (let i = 0; i < FLOOD; i += 50) {
      flood.push(...(await Promise.all(Array.from({ length: 50 }, () => halfHeader(program.port)))));
    }
    assert.equal(flood.length, FLOOD);
    const stillOpen = flood.filter((s) => !s.destroyed && !s.readableEnded).length;
    assert.ok(stillOpen >= 1, 'the flood holds connections open');

    const rows = await listProcesses(`tcp://127.0.0.1:${program.port}`, { secret: SECRET, timeoutMs: 10_000 });
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.ok, `list failed during the flood: ${JSON.stringify(rows[0])}`);

    const dbg = await attach(t, agent, program);
    const line = dbg.line('compute-return');
    await dbg.setBreakpoints(agent.app, [{ line }]);
    await configurationDone(dbg);
    await dbg.expectStopped('breakpoint');
    assert.equal(await dbg.evaluate('total'), '20');

    const during = threadCount(pid);
    assert.ok(during - before <= 4, `threads grew from ${before} to ${during} during the flood`);
    if (agent.lang === 'python') assert.ok(during - 1 <= 6, `${during - 1} agent threads in the Python program`);

    await dbg.resume();
    await dbg.s.disconnect();
    assert.equal(await exitCode(program), 0);
    assert.match(program.stdout(), /result /);
  });
}
