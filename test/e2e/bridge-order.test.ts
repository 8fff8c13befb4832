// The bridge keeps the agent's order: a response and an event the agent writes in one TCP chunk reach the
// editor in that order (VS Code marks a thread running when a `continue`/`next` response arrives, so a
// `stopped` event overtaking it would leave the UI wrong). The agent here is a scripted DAP peer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import { startStdioBridge } from '../helpers/dap-bridge.js';
import { startPlainServer } from '../helpers/tls-fixtures.js';

test('a response and an event written together arrive in the agent\'s order, both ways round', { timeout: 30_000 }, async (t) => {
  const server = await startPlainServer(t, (socket) => {
    const decoder = new FrameDecoder();
    let seq = 1;
    const frame = (m: object): Buffer => encodeFrame({ seq: seq++, ...m });
    socket.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(chunk)) {
        const response = { type: 'response', request_seq: m.seq, command: m.command, success: true };
        if (m.command === 'initialize') socket.write(frame({ ...response, body: { supportsConfigurationDoneRequest: true, longreach: { protocol: 1, agent: 'scripted 0', auth: 'none' } } }));
        else if (m.command === 'attach') socket.write(Buffer.concat([frame(response), frame({ type: 'event', event: 'initialized' })]));
        else if (m.command === 'next') socket.write(Buffer.concat([frame(response), frame({ type: 'event', event: 'stopped', body: { reason: 'step', threadId: 1 } })]));
        else if (m.command === 'pause') socket.write(Buffer.concat([frame({ type: 'event', event: 'stopped', body: { reason: 'pause', threadId: 1 } }), frame(response)]));
        else socket.write(frame(response));
      }
    });
  });
  const { client } = startStdioBridge(t);
  await client.initializeRequest({ adapterID: 'longreach', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const order: string[] = [];
  for (const name of ['initialized', 'stopped']) client.on(name, () => order.push(name));
  const send = (command: string, args?: object): Promise<void> =>
    new Promise((resolve) =>
      (client as unknown as { doSend(c: string, a: unknown, cb: (r: { success: boolean }) => void): void }).doSend(command, args, (r) => {
        order.push(`${command}:${r.success}`);
        resolve();
      }),
    );
  await send('attach', { qualifier: `tcp://127.0.0.1:${server.port}` });
  await send('next', { threadId: 1 });
  await new Promise((r) => setTimeout(r, 200));
  await send('pause', { threadId: 1 });
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(order, ['attach:true', 'initialized', 'next:true', 'stopped', 'stopped', 'pause:true']);
});
