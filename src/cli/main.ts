// The `longreach` command: one dispatch table of subcommands, each a client of the client library.

import { PACKAGE_VERSION } from '../protocol/version.js';
import { printError, processIo, UsageError, type Io } from './io.js';

type Command = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  list: { summary: 'list the debuggable processes at qualifiers (port ranges allowed)', load: async () => (await import('./commands/list.js')).listCommand },
  attach: { summary: 'attach to a process and debug it (interactive, or --batch for scripts)', load: async () => (await import('./commands/attach.js')).attachCommand },
  cert: { summary: 'cert create: make a self-signed TLS certificate and key for an agent', load: async () => (await import('./commands/cert.js')).certCommand },
  listen: { summary: 'run a hub that agents dial into (reverse connect through firewalls); clients attach with ?pid=', load: async () => (await import('./commands/listen.js')).listenCommand },
  dap: { summary: 'a DAP debug adapter for editors (stdio, or --port N): attach with a qualifier and secret', load: async () => (await import('./commands/dap.js')).dapCommand },
  pyz: { summary: 'write the Python agent as one file for hosts without pip: python3 longreach.pyz --listen ...', load: async () => (await import('./commands/pyz.js')).pyzCommand },
  stacks: { summary: 'every thread\'s current stack of running processes ("where is it stuck?"), leaving them running', load: async () => (await import('./commands/stacks.js')).stacksCommand },
  inject: { summary: 'load the agent into a running Node.js or Python process (no restart)', load: async () => (await import('./commands/inject.js')).injectCommand },
  demo: { summary: 'run the walkthrough: start an example program, list, attach, break, step, detach', load: async () => (await import('./commands/demo.js')).demoCommand },
};

export const USAGE = `Longreach ${PACKAGE_VERSION}: secure remote debugging for Python and Node.js programs.

usage: longreach <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

Qualifiers look like tcp://SECRET@HOST:PORT or tcps://SECRET@HOST:PORT (TLS). Pass the secret with
--secret-file FILE or --secret-env VAR instead of in the qualifier to keep it out of \`ps\`.
Run \`longreach <command> --help\` for a command's options. Docs: docs/protocol.md, docs/tls.md.
`;

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; run longreach --help to see the commands`);
    return await (await command.load())(rest, io);
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code?.startsWith('ERR_PARSE_ARGS')) return printError(io, new UsageError(`${(err as Error).message}; run longreach ${name} --help`));
    return printError(io, err);
  }
}
