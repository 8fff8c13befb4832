"""The agent's settings from environment variables (docs/environment.md), with the meanings the Node agent's
register hook gives them (src/agent-node/register-config.ts):

    LONGREACH_LISTEN            [HOST:]PORT to listen on (HOST defaults to 127.0.0.1; [::1]:PORT for IPv6)
    LONGREACH_CONNECT           HOST:PORT of a hub to dial instead (`longreach listen`)
    LONGREACH_SECRET_FILE       a file whose first line is the secret (preferred), or
    LONGREACH_SECRET            the secret itself, or
    LONGREACH_NO_SECRET=1       let anyone attach (loopback addresses only, here)
    LONGREACH_CERTFILE / LONGREACH_KEYFILE   serve TLS (tcps://)
    LONGREACH_BREAKPOINT_WAIT   seconds breakpoint() waits for a debugger (unset: until one comes; 0: never)

Pure apart from reading the secret file. Every problem is a LongreachError whose message names the variable to fix.
"""

import os
import re

from longreach.errors import LongreachError

__all__ = ["AgentConfig", "agent_config", "breakpoint_wait", "parse_address"]

_ADDRESS = re.compile(r"^(?:\[([^\]]+)\]|([^:]*)):(\d+)$|^(\d+)$")
_SECONDS = re.compile(r"^\d+(\.\d+)?s?$")


class AgentConfig(object):
    """How to start the agent: `mode` "listen" (address = where to listen) or "connect" (address = the hub)."""

    __slots__ = ("mode", "address", "secret", "certfile", "keyfile", "ca", "fingerprint")

    def __init__(self, mode, address, secret, certfile=None, keyfile=None, ca=None, fingerprint=None):
        self.ca = ca
        self.fingerprint = fingerprint
        self.mode = mode
        self.address = address
        self.secret = secret
        self.certfile = certfile
        self.keyfile = keyfile

    def __repr__(self):  # never the secret
        return "AgentConfig(%s %s, %s%s)" % (self.mode, _show(self.address), "secret" if self.secret is not None
                                              else "no secret", ", tls" if self.certfile else "")


def _fail(message):
    raise LongreachError("LR_BAD_OPTION", message)


def _show(address):
    host, port = address
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def parse_address(name, text):
    """(host, port) from [HOST:]PORT, [IPV6]:PORT or PORT (host 127.0.0.1), as LONGREACH_LISTEN reads it."""
    m = _ADDRESS.match(text)
    if m is None:
        _fail("%s=%r is not [HOST:]PORT (e.g. 0.0.0.0:5678, [::1]:5678 or 5678)" % (name, text))
    host = m.group(1) or m.group(2) or "127.0.0.1"
    port = int(m.group(3) or m.group(4))
    if port > 65535:
        _fail("%s port %d is out of range (0-65535)" % (name, port))
    return host, port


def is_loopback(host):
    try:
        import ipaddress
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def _secret(env):
    path = env.get("LONGREACH_SECRET_FILE")
    if path:
        try:
            with open(path, "rb") as f:
                data = f.read(65536)
        except OSError as err:
            _fail("LONGREACH_SECRET_FILE %s cannot be read (%s); point it at a file whose first line is the "
                  "secret" % (path, err.strerror or err))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            _fail("LONGREACH_SECRET_FILE %s is not UTF-8 text; write the secret on its first line" % path)
        secret = re.split(r"\r?\n", text, 1)[0]
        if not secret:
            _fail("LONGREACH_SECRET_FILE %s is empty; write the secret on its first line" % path)
        return secret
    if env.get("LONGREACH_SECRET"):
        return env["LONGREACH_SECRET"]
    if env.get("LONGREACH_NO_SECRET") == "1":
        return None
    _fail("no secret: set LONGREACH_SECRET_FILE (a file holding the secret) or LONGREACH_SECRET, or "
          "LONGREACH_NO_SECRET=1 to let anyone on this machine attach over a loopback address")


def _tls(env):
    certfile, keyfile = env.get("LONGREACH_CERTFILE") or None, env.get("LONGREACH_KEYFILE") or None
    if bool(certfile) != bool(keyfile):
        _fail("%s is set without %s; set both for TLS, or neither" % (
            ("LONGREACH_CERTFILE", "LONGREACH_KEYFILE") if certfile else ("LONGREACH_KEYFILE", "LONGREACH_CERTFILE")))
    for name, path in (("LONGREACH_CERTFILE", certfile), ("LONGREACH_KEYFILE", keyfile)):
        if path is not None and not (os.path.isfile(path) and os.access(path, os.R_OK)):
            _fail("%s %s is not a readable file" % (name, path))
    return certfile, keyfile


def agent_config(env, hook="the agent"):
    """The AgentConfig the environment describes; `hook` names what asked for it in the message when no address is
    set. Never yields an unauthenticated listener on an address other than loopback."""
    listen = (env.get("LONGREACH_LISTEN") or "").strip()
    connect = (env.get("LONGREACH_CONNECT") or "").strip()
    if listen and connect:
        _fail("set only one of LONGREACH_LISTEN (wait for debuggers here) and LONGREACH_CONNECT (dial a hub)")
    if not listen and not connect:
        _fail("%s needs an address: set LONGREACH_LISTEN=HOST:PORT (e.g. 127.0.0.1:5678) or "
              "LONGREACH_CONNECT=HOST:PORT (a hub started with `longreach listen`)" % hook)
    mode, name, text = ("listen", "LONGREACH_LISTEN", listen) if listen else ("connect", "LONGREACH_CONNECT", connect)
    address = parse_address(name, text)
    secret = _secret(env)
    if secret is None and mode == "listen" and not is_loopback(address[0]):
        _fail("LONGREACH_NO_SECRET=1 is refused with LONGREACH_LISTEN=%s: anyone who can reach that address could "
              "run code here; set LONGREACH_SECRET_FILE, or listen on 127.0.0.1" % _show(address))
    if mode == "connect":
        return AgentConfig(mode, address, secret, ca=_hub_trust(env, "ca"), fingerprint=_hub_trust(env, "fingerprint"))
    certfile, keyfile = _tls(env)
    return AgentConfig(mode, address, secret, certfile, keyfile)


def _hub_trust(env, which):
    """LONGREACH_CA / LONGREACH_FINGERPRINT: how an agent that dials a hub trusts its certificate (connect mode)."""
    if env.get("LONGREACH_CERTFILE") or env.get("LONGREACH_KEYFILE"):
        _fail("LONGREACH_CERTFILE / LONGREACH_KEYFILE are for listening; with LONGREACH_CONNECT the hub serves TLS: "
              "trust it with LONGREACH_FINGERPRINT=sha256:HEX or LONGREACH_CA=FILE")
    if which == "ca":
        path = env.get("LONGREACH_CA") or None
        if path is not None and not (os.path.isfile(path) and os.access(path, os.R_OK)):
            _fail("LONGREACH_CA %s is not a readable file; give the hub's certificate (cert.pem) or set "
                  "LONGREACH_FINGERPRINT instead" % path)
        return path
    return (env.get("LONGREACH_FINGERPRINT") or "").strip() or None


def breakpoint_wait(env):
    """Seconds breakpoint() waits for a debugger: None (unset or empty: until one comes), 0 (never), or more."""
    text = (env.get("LONGREACH_BREAKPOINT_WAIT") or "").strip()
    if not text:
        return None
    if not _SECONDS.match(text):
        _fail("LONGREACH_BREAKPOINT_WAIT=%r is not a number of seconds; unset it to wait until a debugger comes, "
              "or set 0 never to wait" % text)
    return float(text.rstrip("s"))
