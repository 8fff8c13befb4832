// The part of the VS Code extension API this extension uses, declared here so the extension builds without
// downloading @types/vscode. Shapes follow the published API (VS Code 1.82+).

declare module 'vscode' {
  export interface Disposable {
    dispose(): unknown;
  }
  export type Event<T> = (listener: (e: T) => unknown) => Disposable;
  export class EventEmitter<T> {
    event: Event<T>;
    fire(data: T): void;
    dispose(): void;
  }
  export interface Memento {
    get<T>(key: string): T | undefined;
    update(key: string, value: unknown): Thenable<void>;
  }
  export interface ExtensionContext {
    subscriptions: Disposable[];
    globalState: Memento;
    extensionPath: string;
  }
  export interface WorkspaceFolder {
    readonly name: string;
  }
  export interface DebugConfiguration {
    type: string;
    name: string;
    request: string;
    [key: string]: any;
  }
  export interface DebugSession {
    readonly id: string;
    readonly configuration: DebugConfiguration;
  }
  export interface DebugProtocolMessage {}
  export interface DebugAdapter extends Disposable {
    readonly onDidSendMessage: Event<DebugProtocolMessage>;
    handleMessage(message: DebugProtocolMessage): void;
  }
  export class DebugAdapterInlineImplementation {
    constructor(implementation: DebugAdapter);
  }
  export type DebugAdapterDescriptor = DebugAdapterInlineImplementation;
  export interface DebugAdapterDescriptorFactory {
    createDebugAdapterDescriptor(session: DebugSession): DebugAdapterDescriptor | Thenable<DebugAdapterDescriptor>;
  }
  export interface DebugConfigurationProvider {
    provideDebugConfigurations?(folder: WorkspaceFolder | undefined): DebugConfiguration[] | Thenable<DebugConfiguration[]>;
    resolveDebugConfiguration?(folder: WorkspaceFolder | undefined, config: DebugConfiguration): DebugConfiguration | null | undefined | Thenable<DebugConfiguration | null | undefined>;
  }
  export enum DebugConfigurationProviderTriggerKind {
    Initial = 1,
    Dynamic = 2,
  }
  export namespace debug {
    function registerDebugAdapterDescriptorFactory(debugType: string, factory: DebugAdapterDescriptorFactory): Disposable;
    function registerDebugConfigurationProvider(debugType: string, provider: DebugConfigurationProvider, triggerKind?: DebugConfigurationProviderTriggerKind): Disposable;
    function startDebugging(folder: WorkspaceFolder | undefined, nameOrConfiguration: string | DebugConfiguration): Thenable<boolean>;
  }
  export interface QuickPickItem {
    label: string;
    description?: string;
    detail?: string;
  }
  export interface InputBoxOptions {
    title?: string;
    prompt?: string;
    placeHolder?: string;
    value?: string;
    password?: boolean;
    ignoreFocusOut?: boolean;
    validateInput?(value: string): string | undefined | null;
  }
  export interface MessageOptions {
    modal?: boolean;
    detail?: string;
  }
  export enum ProgressLocation {
    Notification = 15,
  }
  export namespace window {
    function showInputBox(options?: InputBoxOptions): Thenable<string | undefined>;
    function showQuickPick<T extends QuickPickItem>(items: readonly T[], options?: { title?: string; placeHolder?: string; matchOnDetail?: boolean; matchOnDescription?: boolean }): Thenable<T | undefined>;
    function showWarningMessage(message: string, options: MessageOptions, ...items: string[]): Thenable<string | undefined>;
    function showErrorMessage(message: string, ...items: string[]): Thenable<string | undefined>;
    function withProgress<R>(options: { location: ProgressLocation; title?: string; cancellable?: boolean }, task: () => Thenable<R>): Thenable<R>;
  }
  export namespace commands {
    function registerCommand(command: string, callback: (...args: any[]) => any): Disposable;
  }
}
