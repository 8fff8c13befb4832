"""Numbering for a session over a whole job: the root's ids (threads, frames, variables, sources) stay as they are;
a child's id becomes (slot << 31) | id, so no two processes' ids meet (every agent's ids stay below 2**31) and the
result stays an exact JSON number (slots below 2**22).

`inward` and `outward` rewrite every id field of a request (client -> process) and of a response or event
(process -> client) that DAP defines for the requests and events our agents use."""

__all__ = ["SHIFT", "split", "join", "route_of", "inward", "outward"]

SHIFT = 31
_MASK = (1 << SHIFT) - 1
MAX_SLOT = (1 << 22) - 1


def join(slot, local):
    return local if slot == 0 or not _is_id(local) else (slot << SHIFT) | local


def split(value):
    """(slot, local) of a client-side id; (None, None) for something that is not an id."""
    if not _is_id(value):
        return None, None
    return value >> SHIFT, value & _MASK


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


_ARG_IDS = ("threadId", "frameId", "variablesReference", "sourceReference")


def route_of(arguments):
    """The slot a request's arguments point at (by its first id), or None when they name no process."""
    if not isinstance(arguments, dict):
        return None
    for key in _ARG_IDS:
        slot, _ = split(arguments.get(key))
        if slot is not None:
            return slot
    source = arguments.get("source")
    if isinstance(source, dict):
        slot, _ = split(source.get("sourceReference"))
        if slot is not None:
            return slot
    return None


def inward(arguments):
    """A copy of request arguments with client ids made local (for the process route_of chose)."""
    if not isinstance(arguments, dict):
        return arguments
    out = dict(arguments)
    for key in _ARG_IDS:
        if key in out:
            _, local = split(out[key])
            if local is not None:
                out[key] = local
    if isinstance(out.get("source"), dict):
        out["source"] = _source_in(out["source"])
    return out


def _source_in(source):
    source = dict(source)
    _, local = split(source.get("sourceReference"))
    if local is not None:
        source["sourceReference"] = local
    return source


def _source_out(source, slot):
    if not isinstance(source, dict) or not _is_id(source.get("sourceReference")):
        return source
    source = dict(source)
    source["sourceReference"] = join(slot, source["sourceReference"])
    return source


def outward(message, slot, thread_prefix=""):
    """A copy of a response or event from the process in `slot` with its ids made client-side; thread names get
    `thread_prefix`."""
    if slot == 0:
        return message
    message = dict(message)
    body = message.get("body")
    if not isinstance(body, dict):
        return message
    body = dict(body)
    message["body"] = body
    for key in ("threadId", "variablesReference", "frameId"):
        if key in body:
            body[key] = join(slot, body[key])
    if "source" in body:
        body["source"] = _source_out(body["source"], slot)
    if isinstance(body.get("threads"), list):
        body["threads"] = [dict(t, id=join(slot, t.get("id")), name=thread_prefix + str(t.get("name", "")))
                           if isinstance(t, dict) else t for t in body["threads"]]
    if isinstance(body.get("stackFrames"), list):
        body["stackFrames"] = [dict(f, id=join(slot, f.get("id")), source=_source_out(f.get("source"), slot))
                               if isinstance(f, dict) else f for f in body["stackFrames"]]
    for key in ("scopes", "variables"):
        if isinstance(body.get(key), list):
            body[key] = [_refs_out(v, slot) for v in body[key]]
    if "hitBreakpointIds" in body:
        body.pop("hitBreakpointIds")  # a child numbers breakpoints its own way: jobsession names the root's ids
    return message


def _refs_out(value, slot):
    if not isinstance(value, dict):
        return value
    value = dict(value)
    if "variablesReference" in value:
        value["variablesReference"] = join(slot, value["variablesReference"])
    if "source" in value:
        value["source"] = _source_out(value["source"], slot)
    return value
