"""Entry hooks in code objects (CPython 3.8-3.11): a copy of a code object that starts with
`if sys.gettrace() is None: hook()`.

Why: on these versions a thread can only see line events while it has a global trace function, and CPython then
calls that function for every function call the thread makes (a Python call plus a copy of the frame's locals each
time) — several times slower for call-heavy code even when the trace function answers "not interested" at once.
A code object with a breakpoint instead gets a prologue, `hook()`, that switches tracing on for its own frame only
when it actually starts running, so code that never reaches a breakpoint's function runs at full speed. The guard
is a C call, so a thread that is already tracing (inside a breakpoint function, or stepping) pays no Python call.

`hooked(code, hook)` returns the new code object, or None where this is not safe (generators and coroutines, which
resume without running the prologue again; a jump that would need a longer argument; an unknown bytecode). The
caller then falls back to tracing. Nothing here knows about breakpoints or threads.

Per version:
* 3.8/3.9 (and PyPy 3.9): the prologue goes at offset 0; absolute jump arguments (byte offsets) move by its length.
  co_lnotab has no "no line" entry, so the prologue joins the first line's range (a "(0, +n)" pair stays first, then a
  "(length, +0)" pair): a frame traced from its start sees that line once, at offset 0, as before. A frame whose
  tracing the hook switches on is already past that point, so there the hook must report the first line itself
  (FIRST_LINE_FROM_HOOK). When nothing follows, no pair is added: the first line runs to the end anyway.
* 3.10: the same with jump arguments counted in code units, and a leading "no line" entry in co_linetable.
* 3.11: the prologue goes right after RESUME (frames before RESUME are invisible to sys._getframe); jumps are
  relative, so only the exception table's offsets move, and the location table gets "no location" entries for the
  prologue (splitting RESUME's entry when it also covers later instructions).
"""

import dis
import opcode
import sys
import types

__all__ = ["hooked", "supported", "FIRST_LINE_FROM_HOOK"]

_V = sys.version_info[:2]
_NO_RESTART = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_EXT = dis.opmap["EXTENDED_ARG"]
FIRST_LINE_FROM_HOOK = _V < (3, 10)


def supported():
    """CPython 3.8-3.11; PyPy 3.9, whose code objects have CPython 3.9's layout (byte-offset jumps, co_lnotab; its
    own extra opcodes are in its dis tables)."""
    if sys.implementation.name == "cpython":
        return (3, 8) <= _V < (3, 12)
    return sys.implementation.name == "pypy" and _V == (3, 9)


def hooked(code, hook):
    if not supported() or not isinstance(code, types.CodeType) or code.co_flags & _NO_RESTART:
        return None
    n = len(code.co_consts)
    consts = tuple(code.co_consts) + (sys.gettrace, None, hook)
    if _V < (3, 11):
        return _hooked_310(code, consts, n)
    return _hooked_311(code, consts, n)


def _with_ext(op, arg):
    """Instruction bytes for op(arg), EXTENDED_ARG prefixes included."""
    out = []
    shift = 8 * 3
    started = False
    while shift > 0:
        part = (arg >> shift) & 0xFF
        if part or started:
            out += [_EXT, part]
            started = True
        shift -= 8
    return out + [op, arg & 0xFF]


def _decode(raw):
    """[(start offset, end offset, opcode, arg, prefix count)], EXTENDED_ARG folded into the instruction it extends."""
    out = []
    arg = 0
    start = None
    prefixes = 0
    for i in range(0, len(raw), 2):
        op, a = raw[i], raw[i + 1]
        if start is None:
            start = i
        arg = (arg << 8) | a
        if op == _EXT:
            prefixes += 1
            continue
        out.append((start, i + 2, op, arg, prefixes))
        arg, start, prefixes = 0, None, 0
    return out


def _prologue_310(n, unit):
    """if gettrace() is None: hook()   (consts n, n+1, n+2 = gettrace, None, hook)"""
    op = dis.opmap
    if _V >= (3, 9):
        compare = [op["IS_OP"], 0]
    else:
        compare = [op["COMPARE_OP"], dis.cmp_op.index("is")]
    end = 0
    while True:
        out = (_with_ext(op["LOAD_CONST"], n) + [op["CALL_FUNCTION"], 0] + _with_ext(op["LOAD_CONST"], n + 1) +
               compare + _with_ext(op["POP_JUMP_IF_FALSE"], end) + _with_ext(op["LOAD_CONST"], n + 2) +
               [op["CALL_FUNCTION"], 0, op["POP_TOP"], 0])
        if len(out) // unit == end:
            return bytes(out)
        end = len(out) // unit


def _hooked_310(code, consts, n):
    unit = 2 if _V >= (3, 10) else 1  # jump arguments count code units on 3.10, bytes before
    prologue = _prologue_310(n, unit)
    moved = len(prologue) // unit
    raw = bytearray(code.co_code)
    jabs = set(dis.hasjabs)
    for start, end, op, arg, prefixes in _decode(raw):
        if op not in jabs:
            continue
        new = arg + moved
        if new >= 1 << (8 * (prefixes + 1)):
            return None  # would need one more EXTENDED_ARG: every later offset would move
        for k in range(prefixes + 1):
            raw[end - 1 - 2 * k] = (new >> (8 * k)) & 0xFF
    if len(prologue) > 254:
        return None
    changes = {"co_code": prologue + bytes(raw), "co_consts": consts,
               "co_stacksize": max(code.co_stacksize, 2)}
    if _V >= (3, 10):
        changes["co_linetable"] = bytes([len(prologue), 0x80]) + code.co_linetable
    else:
        changes["co_lnotab"] = _lnotab_with_prologue(code.co_lnotab, len(prologue))
    return code.replace(**changes)


def _lnotab_with_prologue(lnotab, size):
    """The pairs that apply at offset 0 stay first; then `size` more bytes on the same line."""
    i = 0
    while i < len(lnotab) and lnotab[i] == 0:
        i += 2
    if i >= len(lnotab):
        return bytes(lnotab)  # the first line runs to the end anyway
    return bytes(lnotab[:i]) + bytes([size, 0]) + bytes(lnotab[i:])


# ---- 3.11 ----

def _call_311(n):
    """PUSH_NULL; LOAD_CONST n; PRECALL 0; CALL 0, with their inline caches."""
    caches = opcode._inline_cache_entries
    out = [dis.opmap["PUSH_NULL"], 0] + _with_ext(dis.opmap["LOAD_CONST"], n)
    for name in ("PRECALL", "CALL"):
        op = dis.opmap[name]
        out += [op, 0] + [0, 0] * caches[op]
    return out


def _hooked_311(code, consts, n):
    raw = bytes(code.co_code)
    resume = dis.opmap["RESUME"]
    at = None
    for start, end, op, _arg, _p in _decode(raw):
        if op == resume:
            at = end // 2  # code units before the insertion point
            break
    if at is None:
        return None
    call_hook = _call_311(n + 2) + [dis.opmap["POP_TOP"], 0]
    skip = dis.opmap["POP_JUMP_FORWARD_IF_NOT_NONE"]
    if opcode._inline_cache_entries[skip] or len(call_hook) // 2 > 255:
        return None
    prologue = _call_311(n) + [skip, len(call_hook) // 2] + call_hook
    size = len(prologue) // 2
    table = _shift_exception_table(code.co_exceptiontable, at, size)
    lines = _insert_no_location(code.co_linetable, at, size)
    if table is None or lines is None:
        return None
    return code.replace(co_code=raw[:at * 2] + bytes(prologue) + raw[at * 2:], co_consts=consts,
                        co_stacksize=max(code.co_stacksize, 2), co_exceptiontable=table, co_linetable=lines)


def _read_be_varint(data, i):
    """Exception table varint: 6 bits per byte, most significant first, bit 6 = more."""
    b = data[i]
    value = b & 63
    i += 1
    while b & 64:
        b = data[i]
        value = (value << 6) | (b & 63)
        i += 1
    return value, i


def _write_be_varint(value, first_flag=0):
    chunks = [value & 63]
    value >>= 6
    while value:
        chunks.append(value & 63)
        value >>= 6
    chunks.reverse()
    out = [c | 64 for c in chunks[:-1]] + [chunks[-1]]
    out[0] |= first_flag
    return out


def _shift_exception_table(table, at, size):
    out = []
    i = 0
    while i < len(table):
        if not table[i] & 0x80:
            return None
        start, i = _read_be_varint(table, i)
        length, i = _read_be_varint(table, i)
        target, i = _read_be_varint(table, i)
        depth_lasti, i = _read_be_varint(table, i)
        end = start + length
        start = start + size if start >= at else start
        end = end + size if end > at else end
        target = target + size if target >= at else target
        out += _write_be_varint(start, 0x80) + _write_be_varint(end - start) + _write_be_varint(target)
        out += _write_be_varint(depth_lasti)
    return bytes(out)


def _read_le_varint(data, i):
    """Location table varint: 6 bits per byte, least significant first, bit 6 = more."""
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 63) << shift
        shift += 6
        if not b & 64:
            return value, i


def _write_le_varint(value):
    out = []
    while value >= 64:
        out.append(64 | (value & 63))
        value >>= 6
    return out + [value]


def _entries(table):
    """[(first byte index, end byte index, code units covered)] of a 3.11 location table."""
    out = []
    i = 0
    while i < len(table):
        head = table[i]
        if not head & 0x80:
            return None
        kind, units = (head >> 3) & 15, (head & 7) + 1
        j = i + 1
        if kind == 15:
            pass
        elif kind == 14:
            for _ in range(4):
                _v, j = _read_le_varint(table, j)
        elif kind == 13:
            _v, j = _read_le_varint(table, j)
        elif kind >= 10:
            j += 2
        else:
            j += 1
        out.append((i, j, units))
        i = j
    return out


def _same_place(entry, units):
    """`entry` (bytes) re-headed to cover `units` code units with no line change of its own: for a split entry's
    second half, whose line the first half already set."""
    head = entry[0]
    kind = (head >> 3) & 15
    body = bytes(entry[1:])
    if kind in (10, 11, 12):
        kind = 10
    elif kind in (13, 14):
        _delta, j = _read_le_varint(body, 0)
        body = bytes([0]) + body[j:]
    return bytes([0x80 | (kind << 3) | (units - 1)]) + body


def _no_location(units):
    out = []
    while units > 0:
        n = min(units, 8)
        out.append(0x80 | (15 << 3) | (n - 1))
        units -= n
    return bytes(out)


def _insert_no_location(table, at, size):
    entries = _entries(table)
    if entries is None:
        return None
    out = bytearray()
    unit = 0
    inserted = False
    for first, end, units in entries:
        entry = table[first:end]
        if not inserted and unit + units > at:
            before = at - unit
            if before == 0:
                out += _no_location(size) + entry
            else:
                out += bytes([(entry[0] & ~7) | (before - 1)]) + entry[1:]
                out += _no_location(size) + _same_place(entry, units - before)
            inserted = True
        else:
            out += entry
        unit += units
    if not inserted:
        out += _no_location(size)
    return bytes(out)
