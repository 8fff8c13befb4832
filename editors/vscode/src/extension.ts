// The VS Code extension: a thin shell over the editor bridge (src/bridge). The debug adapter runs inline, in
// the extension host, so an unknown certificate can be asked about in a modal and a prompted secret never
// leaves memory. All policy (configuration checks, the process list, the certificate question) is in
// src/bridge/editor.ts, unit-tested without VS Code. This file is CommonJS (VS Code loads extensions with
// require); the bridge is ESM and is loaded with import().

import * as vscode from 'vscode';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** What this file uses of out/bridge/dist/src/bridge/index.js (checked by test/unit/vscode-extension-api.test.ts). */
interface BridgeLib {
  Bridge: new (send: (message: object) => void, options: object) => { receive(message: object): void; end(): void };
  listProcesses(target: string, options: object): Promise<unknown[]>;
  resolveConfiguration(config: Record<string, unknown>, env: NodeJS.ProcessEnv, hasPromptedSecret?: boolean): { kind: 'attach'; config: Record<string, unknown> } | { kind: 'pick' } | { kind: 'error'; message: string };
  checkQualifier(text: string): string | undefined;
  processItems(base: string, rows: unknown[]): { label: string; description: string; detail: string; config: Record<string, unknown> | null }[];
  certificateQuestion(info: CertInfo): { message: string; detail: string; choices: [string, string] };
  trustDecision(choice: string | undefined): 'once' | 'always' | 'abort';
  parseQualifier(text: string, options?: object): { scheme: string; host: string; port: number; secret: string | null; fingerprint?: string };
  INITIAL_CONFIGURATIONS: Record<string, unknown>[];
}
interface CertInfo {
  host: string;
  port: number;
  fingerprint: string;
}

const SECRET_ID = '__longreachSecretId';
const LAST_QUALIFIER = 'longreach.lastQualifier';

let lib: Promise<BridgeLib> | undefined;
const loadLib = (context: vscode.ExtensionContext): Promise<BridgeLib> =>
  (lib ??= import(pathToFileURL(join(context.extensionPath, 'out', 'bridge', 'dist', 'src', 'bridge', 'index.js')).href) as Promise<BridgeLib>);

/** Secrets typed into the prompt: memory only, for this window. */
const promptedSecrets = new Map<string, string>();

/** The modal for an unknown certificate; "once" answers are remembered per host:port for this window. */
function decider(bridge: BridgeLib, trustedOnce: Map<string, string>) {
  return async (info: CertInfo): Promise<'once' | 'always' | 'abort'> => {
    const question = bridge.certificateQuestion(info);
    const choice = await vscode.window.showWarningMessage(question.message, { modal: true, detail: question.detail }, ...question.choices);
    const decision = bridge.trustDecision(choice);
    if (decision === 'once') trustedOnce.set(`${info.host}:${info.port}`, info.fingerprint);
    return decision;
  };
}

export function activate(context: vscode.ExtensionContext): void {
  const trustedOnce = new Map<string, string>();

  context.subscriptions.push(
    vscode.debug.registerDebugAdapterDescriptorFactory('longreach', {
      async createDebugAdapterDescriptor() {
        const bridge = await loadLib(context);
        const emitter = new vscode.EventEmitter<vscode.DebugProtocolMessage>();
        const core = new bridge.Bridge((message) => emitter.fire(message), {
          env: process.env,
          decide: decider(bridge, trustedOnce),
          lookupSecret: (args: Record<string, unknown>) => promptedSecrets.get(String(args[SECRET_ID] ?? '')),
        });
        return new vscode.DebugAdapterInlineImplementation({
          onDidSendMessage: emitter.event,
          handleMessage: (message) => core.receive(message),
          dispose: () => {
            core.end();
            emitter.dispose();
          },
        });
      },
    }),
    vscode.debug.registerDebugConfigurationProvider('longreach', {
      async provideDebugConfigurations() {
        return (await loadLib(context)).INITIAL_CONFIGURATIONS as vscode.DebugConfiguration[];
      },
      async resolveDebugConfiguration(_folder, config) {
        const bridge = await loadLib(context);
        const result = bridge.resolveConfiguration(config, process.env, promptedSecrets.has(String(config[SECRET_ID] ?? '')));
        if (result.kind === 'pick') return (await pickProcess(context, trustedOnce)) ?? undefined;
        if (result.kind === 'error') {
          void vscode.window.showErrorMessage(`Longreach: ${result.message}`);
          return undefined; // abort the launch
        }
        return result.config as vscode.DebugConfiguration;
      },
    }),
    vscode.commands.registerCommand('longreach.attachToProcess', async () => {
      const config = await pickProcess(context, trustedOnce);
      if (config) await vscode.debug.startDebugging(undefined, config);
    }),
  );
}

/** "Attach to Process…": a qualifier, a secret if it needs one, the process list, a configuration for the pick. */
async function pickProcess(context: vscode.ExtensionContext, trustedOnce: Map<string, string>): Promise<vscode.DebugConfiguration | undefined> {
  const bridge = await loadLib(context);
  const qualifier = await vscode.window.showInputBox({
    title: 'Longreach: Attach to Process',
    prompt: 'Where the agents listen (a port range lists several)',
    placeHolder: 'tcps://HOST:5678 or tcp://HOST:5678-5690',
    value: context.globalState.get<string>(LAST_QUALIFIER) ?? '',
    ignoreFocusOut: true,
    validateInput: (text) => bridge.checkQualifier(text),
  });
  if (!qualifier) return undefined;
  const parsed = bridge.parseQualifier(qualifier, { allowRange: true });
  let secret: string | undefined;
  if (parsed.secret === null) {
    secret = await vscode.window.showInputBox({ title: 'Longreach: secret', prompt: 'The secret the agent was started with (kept in memory only; leave empty for an agent without a secret)', password: true, ignoreFocusOut: true });
    if (secret === undefined) return undefined;
    void context.globalState.update(LAST_QUALIFIER, qualifier); // remembered only when it holds no secret
  }
  const rows = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Longreach: listing processes` }, () =>
    bridge.listProcesses(qualifier, { timeoutMs: 5000, decide: decider(bridge, trustedOnce), ...(secret ? { secret } : {}) }),
  );
  const items = bridge.processItems(qualifier, rows);
  if (!items.some((i) => i.config !== null)) {
    void vscode.window.showErrorMessage(`Longreach: no process could be listed at ${qualifier.replace(/\/\/[^@/]*@/, '//***@')}: ${items.map((i) => i.detail).join('; ')}`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Available Processes', placeHolder: 'Pick a process to attach to', matchOnDetail: true, matchOnDescription: true });
  if (!picked?.config) return undefined;
  const config = { ...picked.config } as vscode.DebugConfiguration;
  if (secret) {
    const id = randomUUID();
    promptedSecrets.set(id, secret);
    config[SECRET_ID] = id;
  } else if (parsed.secret !== null) {
    config.secret = parsed.secret; // the person typed it into the qualifier: in memory only, like the prompt
  }
  const target = bridge.parseQualifier(String(config.qualifier));
  const once = trustedOnce.get(`${target.host}:${target.port}`);
  if (target.scheme === 'tcps' && target.fingerprint === undefined && once !== undefined) config.fingerprint = once;
  return config;
}

export function deactivate(): void {
  promptedSecrets.clear();
}
