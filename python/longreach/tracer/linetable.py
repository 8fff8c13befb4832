"""Line tables of compiled-breakpoint copies (tracer/linehook.py), 3.10+: the inserted nodes are compiled on a sentinel
line (line + far), and the copy's line table is rewritten from the compiler's: the sentinel becomes the line, and the
instructions without a line that follow inserted ones take that line too."""

import bisect
import dis
import sys

__all__ = ["relined", "threaded_jumps", "current_line"]

# where a frame with a trace function reports the line of its last line event as f_lineno, not where it is
_STALE_LINENO = sys.version_info < (3, 10) or sys.implementation.name == "pypy"


def current_line(frame):
    """The line `frame` is at. On CPython 3.8/3.9 and PyPy a frame whose f_trace is set (traced once, or adopted by
    the tracer) says as f_lineno the line of its last line event, which a caller frame whose lines are not traced
    may have left long ago: there the line comes from the instruction it is at, as f_lineno does for a frame
    without a trace function."""
    if not _STALE_LINENO or frame.f_trace is None:
        return frame.f_lineno
    try:
        starts = list(dis.findlinestarts(frame.f_code))
        at = bisect.bisect_right([offset for offset, _ in starts], frame.f_lasti) - 1
        return starts[at][1] if at >= 0 else frame.f_lineno
    except Exception:
        return frame.f_lineno

def _write_varint(out, value):
    while value >= 64:
        out.append(64 | (value & 63))
        value >>= 6
    out.append(value)


def _mapped(lines, far):
    """Sentinel lines mapped back; a run without a line between an inserted instruction and either another inserted
    one or the breakpoint line's own code takes the breakpoint's line."""
    out = [None if v is None else (v - far if v >= far else v) for v in lines]
    i = 0
    while i < len(lines):
        if lines[i] is None and i > 0 and lines[i - 1] is not None and lines[i - 1] >= far:
            j = i
            while j < len(lines) and lines[j] is None:
                j += 1
            line = out[i - 1]
            if j < len(lines) and out[j] == line:
                for k in range(i, j):
                    out[k] = line
            i = j
        else:
            i += 1
    return out


def _relined_310(code, far):
    """3.10: co_linetable from co_lines() with the sentinel lines mapped back."""
    ranges = list(code.co_lines())
    lines = _mapped([line for _s, _e, line in ranges], far)
    out = bytearray()
    prev = code.co_firstlineno
    for (start, end, _old), line in zip(ranges, lines):
        size = end - start
        if line is None:
            while size > 0:
                out += bytes([min(size, 254), 128])
                size -= min(size, 254)
            continue
        delta = line - prev
        prev = line
        while delta > 127 or delta < -127:
            step = 127 if delta > 0 else -127
            out += bytes([0, step & 0xFF])
            delta -= step
        first = True
        while size > 0 or first:
            chunk = min(size, 254)
            out += bytes([chunk, (delta if first else 0) & 0xFF])
            size -= chunk
            first = False
    return code.replace(co_linetable=bytes(out))


def _relined_311(code, far):
    """3.11+: the location table from co_positions() with the sentinel lines mapped back (long-form entries)."""
    positions = list(code.co_positions())
    if len(positions) * 2 != len(code.co_code):
        return None
    lines = _mapped([p[0] for p in positions], far)
    fixed = []
    for (line, end, col, end_col), new in zip(positions, lines):
        if line is None or line >= far:
            end = new
        fixed.append((new, end, col, end_col))
    out = bytearray()
    prev = code.co_firstlineno
    i = 0
    while i < len(fixed):
        n = 1
        while n < 8 and i + n < len(fixed) and fixed[i + n] == fixed[i]:
            n += 1
        line, end, col, end_col = fixed[i]
        if line is None:
            out.append(0x80 | (15 << 3) | (n - 1))
        else:
            out.append(0x80 | (14 << 3) | (n - 1))
            delta = line - prev
            _write_varint(out, (-delta << 1) | 1 if delta < 0 else delta << 1)
            _write_varint(out, (end if end is not None else line) - line)
            _write_varint(out, 0 if col is None else col + 1)
            _write_varint(out, 0 if end_col is None else end_col + 1)
            prev = line
        i += n
    return code.replace(co_linetable=bytes(out))


def relined(code, far):
    """`code` with its sentinel lines (>= far) mapped back; None if its table cannot be rewritten."""
    if not far:
        return code
    if sys.version_info >= (3, 11):
        return _relined_311(code, far)
    return _relined_310(code, far)


def threaded_jumps(code, region):
    """3.11: a forward conditional jump among the inserted instructions (`region`, byte offsets) that lands on an
    inserted JUMP_FORWARD goes straight to where that one goes (3.11's compiler leaves this jump to a jump at the end
    of the inserted `try`, which the false path of every condition would pay for). Other versions: `code`."""
    if sys.version_info[:2] != (3, 11) or not region:
        return code
    by_offset = dict((i.offset, i) for i in dis.get_instructions(code))
    raw = bytearray(code.co_code)
    extended = dis.opmap["EXTENDED_ARG"]
    for ins in by_offset.values():
        if ins.opname not in ("POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_FORWARD_IF_TRUE") or ins.offset not in region:
            continue
        hop = by_offset.get(ins.argval)
        if hop is None or hop.opname != "JUMP_FORWARD":
            continue
        if hop.offset not in region and hop.offset - 2 not in region:
            continue  # the program's own jump, not the inserted `try`'s (which has no line of its own)
        arg = (hop.argval - ins.offset - 2) // 2
        if arg > 255 or (ins.offset >= 2 and raw[ins.offset - 2] == extended):
            continue
        raw[ins.offset + 1] = arg
    return code.replace(co_code=bytes(raw))
