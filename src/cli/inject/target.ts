// What /proc says about a process `longreach inject` is pointed at: its kind, owner, signal handling and listening
// sockets (Linux).

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { userInfo } from 'node:os';
import { LongreachError } from '../../protocol/errors.js';

export type TargetKind = 'node' | 'cpython' | 'pypy' | 'other';

export interface Target {
  pid: number;
  name: string;
  uid: number;
  exe: string | null;
  kind: TargetKind;
  /** SigCgt: the signals the process has handlers for. */
  caught: bigint;
}

export function inspectTarget(pid: number): Target {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    throw new LongreachError('LR_BAD_OPTION', `there is no process ${pid} (see \`ps\` for the program's id)`);
  }
  const field = (key: string): string => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  let exe: string | null = null;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    // another user's process: the owner check explains
  }
  let maps = '';
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    // as above
  }
  const files = [exe ?? '', ...maps.split('\n').map((l) => l.split(/\s+/).slice(5).join(' '))];
  let kind: TargetKind = 'other';
  if (files.some((f) => /\/(lib)?python\d\.\d+[a-z]*(\.so[.\d]*)?$/.test(f))) kind = 'cpython';
  else if (files.some((f) => /\/(lib)?pypy[\d.]*(-c)?(\.so[.\d]*)?$/.test(f))) kind = 'pypy';
  else if (exe !== null && /\/(node|nodejs)$/.test(exe)) kind = 'node';
  return { pid, name: field('Name'), uid: Number(field('Uid').split(/\s+/)[1] ?? -1), exe, kind, caught: BigInt(`0x${field('SigCgt') || '0'}`) };
}

export function describe(t: Target): string {
  return `process ${t.pid} (${t.name})`;
}

/** LR_INJECT_REFUSED unless this user may signal and debug the target. */
export function checkOwner(t: Target): void {
  const me = process.geteuid?.() ?? -1;
  if (me === 0 || me === t.uid) return;
  let owner = `uid ${t.uid}`;
  try {
    owner = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(t.uid))?.split(':')[0] ?? owner;
  } catch {
    // keep the number
  }
  throw new LongreachError('LR_INJECT_REFUSED', `${describe(t)} runs as ${owner} and you are ${userInfo().username}; only the same user or root may load code into it: run \`sudo -u ${owner} longreach inject ${t.pid} ...\` (or the same as root)`);
}

/** Text of the process's command line and NODE_OPTIONS (empty when unreadable). */
export function nodeFlags(pid: number): string {
  let text = '';
  try {
    text += readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    // unreadable
  }
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('NODE_OPTIONS='));
    if (env) text += ` ${env}`;
  } catch {
    // unreadable
  }
  return text;
}

export interface Listener {
  host: string;
  port: number;
}

/** The TCP sockets the process listens on (from its fds and /proc/PID/net/tcp{,6}). */
export function listeners(pid: number): Listener[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const out: Listener[] = [];
  for (const [file, v6] of [['tcp', false], ['tcp6', true]] as const) {
    let table = '';
    try {
      table = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9]!)) continue;
      const [addr, port] = cols[1]!.split(':');
      out.push({ host: v6 ? (addr === '00000000000000000000000001000000' ? '::1' : '::') : hexIPv4(addr!), port: parseInt(port!, 16) });
    }
  }
  return out;
}

function hexIPv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255].join('.');
}
