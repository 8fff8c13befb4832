#!/usr/bin/env node
// Builds the VS Code extension and packages it to a .vsix, offline:
//   1. compiles the repository (tsc -p tsconfig.json) so dist/src/bridge is current;
//   2. compiles this extension's thin shell (src/extension.ts → out/extension.js, CommonJS);
//   3. copies the bridge and what it imports (dist/src/{bridge,client,protocol}, plain JavaScript, no npm
//      dependencies at run time) to out/bridge/, an ESM package of its own;
//   4. runs `vsce package --no-dependencies` (no npm, no marketplace calls).
// Usage: node editors/vscode/build.mjs [--no-package] [--built]   → editors/vscode/longreach-vscode-VERSION.vsix
//   --built: the repository was just compiled (npm test does that first), so step 1 is skipped.

import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(here, 'out');
const run = (file, args, cwd = root) => execFileSync(process.execPath, [file, ...args], { cwd, stdio: 'inherit' });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

if (!process.argv.includes('--built')) run(tsc, ['-p', 'tsconfig.json']);
rmSync(out, { recursive: true, force: true });
run(tsc, ['-p', join(here, 'tsconfig.json')]);

const bridgeRoot = join(out, 'bridge');
for (const area of ['bridge', 'client', 'protocol']) {
  cpSync(join(root, 'dist', 'src', area), join(bridgeRoot, 'dist', 'src', area), {
    recursive: true,
    filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts') && !src.endsWith('.d.cts') && !src.endsWith('certs.js'),
  });
}
// version.cjs reads ../../../package.json: give the copy its own, which also marks the files as ESM.
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
writeFileSync(join(bridgeRoot, 'package.json'), `${JSON.stringify({ name: 'longreach-bridge', version: rootPkg.version, type: 'module', private: true }, null, 2)}\n`);

if (!process.argv.includes('--no-package')) {
  const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
  const vsix = join(here, `${pkg.name}-${pkg.version}.vsix`);
  mkdirSync(dirname(vsix), { recursive: true });
  run(join(root, 'node_modules', '@vscode', 'vsce', 'vsce'), ['package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--out', vsix], here);
}
