"""Addresses of exported functions in a running process: /proc/PID/maps plus each mapped file's ELF .dynsym."""

import os
import struct

__all__ = ["Mapping", "mappings", "find_symbols"]

SHT_DYNSYM = 11


class Mapping(object):
    __slots__ = ("start", "end", "perms", "offset", "path")

    def __init__(self, start, end, perms, offset, path):
        self.start, self.end, self.perms, self.offset, self.path = start, end, perms, offset, path


def mappings(pid):
    """The file-backed mappings of `pid` (OSError when /proc/PID/maps cannot be read)."""
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 6 or not parts[5].startswith("/"):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            out.append(Mapping(start, end, parts[1], int(parts[2], 16), parts[5].rstrip("\n")))
    return out


def _dynsym(data, wanted):
    """{name: (st_value, e_type, first PT_LOAD vaddr)} for the names in `wanted` defined in the ELF image `data`."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return {}
    e_type = struct.unpack_from("<H", data, 16)[0]
    e_phoff, e_shoff = struct.unpack_from("<QQ", data, 32)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", data, 54)
    first_vaddr = None
    for i in range(e_phnum):
        p_type, _flags, p_offset, p_vaddr = struct.unpack_from("<IIQQ", data, e_phoff + i * e_phentsize)
        if p_type == 1:  # PT_LOAD
            first_vaddr = p_vaddr - p_offset if first_vaddr is None else first_vaddr
    found = {}
    for i in range(e_shnum):
        base = e_shoff + i * e_shentsize
        sh_type = struct.unpack_from("<I", data, base + 4)[0]
        if sh_type != SHT_DYNSYM:
            continue
        sh_offset, sh_size, sh_link, _info, _align, sh_entsize = struct.unpack_from("<QQIIQQ", data, base + 24)
        str_off = struct.unpack_from("<Q", data, e_shoff + sh_link * e_shentsize + 24)[0]
        for j in range(sh_size // (sh_entsize or 24)):
            st_name, st_info, _other, st_shndx, st_value = struct.unpack_from("<IBBHQ", data, sh_offset + j * 24)
            if st_shndx == 0 or st_value == 0 or (st_info & 0xF) != 2:  # defined functions only
                continue
            end = data.find(b"\0", str_off + st_name)
            name = data[str_off + st_name:end].decode("ascii", "replace")
            if name in wanted and name not in found:
                found[name] = st_value
    return {name: (value, e_type, first_vaddr or 0) for name, value in found.items()}


def find_symbols(pid, wanted, path_filter):
    """{name: address} in `pid` for the functions in `wanted`, looked up in the mapped files whose path passes
    `path_filter`. Files are read through /proc/PID/root so a process in a container is read correctly."""
    found = {}
    seen = set()
    maps = mappings(pid)
    for m in maps:
        if m.path in seen or not path_filter(m.path):
            continue
        seen.add(m.path)
        starts = [x.start - x.offset for x in maps if x.path == m.path]
        for candidate in ("/proc/%d/root%s" % (pid, m.path), m.path):
            try:
                with open(candidate, "rb") as f:
                    data = f.read()
                break
            except OSError:
                data = None
        if data is None:
            continue
        for name, (value, e_type, first_vaddr) in _dynsym(data, set(wanted) - set(found)).items():
            bias = min(starts) - first_vaddr if e_type == 3 else 0  # ET_DYN: relocated; ET_EXEC: absolute
            found[name] = bias + value
    return found


def image_paths(pid):
    """The distinct file paths mapped into `pid`."""
    return sorted(set(m.path for m in mappings(pid)))


def is_readable(path):
    return os.path.isfile(path) and os.access(path, os.R_OK)
