// A small ZIP writer (PKWARE APPNOTE 6.3: local headers, central directory, end record) for `longreach pyz`:
// deflated or stored entries, no ZIP64 (the agent is far below 4 GiB and 65535 files), no encryption. Every entry
// gets the same fixed time and mode, and entries keep the order given, so the same input gives the same bytes.

import { deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** The name inside the archive, with / between folders and no leading /. */
  name: string;
  data: Buffer;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const STORED = 0;
const DEFLATED = 8;
const VERSION_NEEDED = 20; // 2.0: deflate and folders
const MADE_BY_UNIX = (3 << 8) | VERSION_NEEDED;
const UTF8_NAMES = 1 << 11;
const FILE_MODE = 0o100644;
// 1980-01-01 00:00:00, the earliest time DOS dates can say: a fixed time keeps the archive reproducible.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const LIMIT = 0xffffffff;

/** The bytes of a ZIP archive holding `entries`, each deflated unless storing it is smaller. */
export function zipArchive(entries: readonly ZipEntry[]): Buffer {
  if (entries.length > 0xffff) throw new RangeError(`a ZIP without ZIP64 holds at most 65535 entries, not ${entries.length}`);
  const seen = new Set<string>();
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    if (entry.name === '' || entry.name.startsWith('/') || entry.name.includes('\\') || entry.name.split('/').includes('..')) {
      throw new RangeError(`bad ZIP entry name ${JSON.stringify(entry.name)}`);
    }
    if (seen.has(entry.name)) throw new RangeError(`duplicate ZIP entry ${JSON.stringify(entry.name)}`);
    seen.add(entry.name);
    const name = Buffer.from(entry.name, 'utf8');
    const deflated = deflateRawSync(entry.data, { level: 9 });
    const [method, body] = deflated.length < entry.data.length ? [DEFLATED, deflated] : [STORED, entry.data];
    const crc = crc32(entry.data);
    if (entry.data.length >= LIMIT || offset + body.length >= LIMIT) throw new RangeError('the archive would need ZIP64 (over 4 GiB)');

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(MADE_BY_UNIX, 4);
    record.writeUInt16LE(VERSION_NEEDED, 6);
    record.writeUInt16LE(UTF8_NAMES, 8);
    record.writeUInt16LE(method, 10);
    record.writeUInt16LE(DOS_TIME, 12);
    record.writeUInt16LE(DOS_DATE, 14);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(body.length, 20);
    record.writeUInt32LE(entry.data.length, 24);
    record.writeUInt16LE(name.length, 28);
    // extra length, comment length, disk number, internal attributes: 0
    record.writeUInt32LE((FILE_MODE << 16) >>> 0, 38);
    record.writeUInt32LE(offset, 42);
    central.push(record, name);
    offset += local.length + name.length + body.length;
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  if (offset + centralSize >= LIMIT) throw new RangeError('the archive would need ZIP64 (over 4 GiB)');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...central, end]);
}
