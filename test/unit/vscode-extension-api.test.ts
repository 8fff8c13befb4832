// The VS Code extension's contract with the rest of the repository, without VS Code: what its shell imports
// from the bridge exists, and its package.json contributes what the docs promise.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as bridge from '../../src/bridge/index.js';
import { INITIAL_CONFIGURATIONS } from '../../src/bridge/editor.js';
import { readJson } from '../helpers/paths.js';

test('the bridge exports everything editors/vscode/src/extension.ts loads at run time', () => {
  for (const name of ['Bridge', 'listProcesses', 'resolveConfiguration', 'checkQualifier', 'processItems', 'certificateQuestion', 'trustDecision', 'parseQualifier', 'INITIAL_CONFIGURATIONS']) {
    assert.ok(name in bridge && (bridge as Record<string, unknown>)[name] !== undefined, name);
  }
});

test('the extension package: engines.vscode, the longreach debugger with attach attributes and snippets, the command', () => {
  const pkg = readJson('editors/vscode/package.json');
  assert.match(pkg.engines.vscode, /^\^1\.\d+\.\d+$/);
  assert.equal(pkg.main, './out/extension.js');
  const debuggerEntry = pkg.contributes.debuggers.find((d: { type: string }) => d.type === 'longreach');
  const attributes = Object.keys(debuggerEntry.configurationAttributes.attach.properties).sort();
  const consumed = [...bridge.BRIDGE_ONLY_ARGS, 'pathMappings', 'redirectOutput'].sort();
  assert.deepEqual(attributes, consumed, 'every attach attribute the bridge understands is declared, and no other');
  assert.deepEqual(debuggerEntry.initialConfigurations, INITIAL_CONFIGURATIONS, 'package.json and src/bridge/editor.ts offer the same starting configuration');
  assert.ok(debuggerEntry.configurationSnippets.length >= 2);
  for (const snippet of debuggerEntry.configurationSnippets) assert.equal(snippet.body.request, 'attach');
  assert.deepEqual(pkg.contributes.commands, [{ command: 'longreach.attachToProcess', title: 'Attach to Process…', category: 'Longreach' }]);
  assert.ok(pkg.activationEvents.includes('onDebugResolve:longreach'));
});
