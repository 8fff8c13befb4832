"""python -m longreach --pid PID (--listen [HOST:]PORT | --connect HOST:PORT) (--secret-env VAR | --secret-file FILE |
--no-secret) [--certfile F --keyfile F | --ca F | --fingerprint sha256:HEX] [--allow-plain-secret] [--timeout S]: load
the agent into a running Python process."""

import os
import socket
import sys

from longreach.errors import LongreachError

USAGE = """usage: python -m longreach --pid PID --listen [HOST:]PORT (--secret-env VAR | --secret-file FILE | --no-secret)
                          [--certfile FILE --keyfile FILE] [--allow-plain-secret] [--timeout S]
       python -m longreach --pid PID --connect HOST:PORT (--secret-env VAR | --secret-file FILE)
                          [--ca FILE | --fingerprint sha256:HEX] [--timeout S]"""

HELP = USAGE + """

Load the Longreach agent into a Python process that is already running (CPython 3.8+, Linux x86-64; run this on
the same host, as the process's user or root) and start it there with these settings. Prints the qualifier.

options:
  --pid PID               the process to load into
  --listen [HOST:]PORT    address the agent listens on (HOST defaults to 0.0.0.0; port 0 picks one)
  --connect HOST:PORT     listen on nothing: the agent dials the hub there (longreach listen)
  --ca FILE               with --connect: TLS, trust the hub's certificate if this CA file vouches for it
  --fingerprint sha256:HEX  with --connect: TLS, trust the hub's certificate with this fingerprint
  --secret-env VAR        read the secret from environment variable VAR
  --secret-file FILE      read the secret from FILE (one line)
  --no-secret             let anyone who can reach the port attach
  --certfile FILE         TLS certificate (PEM); needs --keyfile
  --keyfile FILE          TLS private key (PEM)
  --allow-plain-secret    accept a secret in attach arguments over plain tcp://
  --timeout S             give up (changing nothing) when the process has not run the loader within S seconds
                          (default 10)

The loader runs when the process's main thread next runs Python code; see docs/inject.md."""

_VALUED = ("--pid", "--listen", "--secret-env", "--secret-file", "--certfile", "--keyfile", "--timeout", "--connect",
           "--ca", "--fingerprint")


def wanted(argv):
    """True when the launcher's options (before the program) include --pid."""
    for arg in argv:
        name = arg.partition("=")[0]
        if name == "--pid":
            return True
        if not arg.startswith("-") or arg in ("-m", "-c", "--") or arg.startswith(("-m", "-c")):
            return False
    return False


def parse(argv, parse_listen, read_secret, usage_error, check):
    opts = {"pid": None, "listen": None, "connect": None, "ca": None, "fingerprint": None, "secret": None, "secret_source": None, "secret_name": None,
            "certfile": None, "keyfile": None, "allow_plain_secret": False, "timeout": 10.0}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, inline = arg.partition("=")

        def value():
            if eq:
                return inline
            if not args:
                raise usage_error("%s needs a value" % name)
            return args.pop(0)

        if name in ("-h", "--help"):
            sys.stdout.write(HELP + "\n")
            raise SystemExit(0)
        if name.startswith("--secret") and name not in ("--secret-env", "--secret-file"):
            raise usage_error("there is no %s option: a secret on the command line is visible to every user "
                              "through ps; use --secret-env VAR or --secret-file FILE" % name)
        if name == "--pid":
            text = value()
            if not text.isdigit() or int(text) <= 0:
                raise usage_error("--pid %r: expected a process id such as 4242 (see `pgrep -a python`)" % text)
            opts["pid"] = int(text)
        elif name == "--listen":
            opts["listen"] = parse_listen(value())
        elif name in ("--secret-env", "--secret-file", "--no-secret"):
            if opts["secret_source"] is not None:
                raise usage_error("give only one of --secret-env, --secret-file and --no-secret")
            if name == "--no-secret" and eq:
                raise usage_error("--no-secret takes no value")
            where = None if name == "--no-secret" else value()
            opts["secret_source"], opts["secret_name"] = name, where
            opts["secret"] = None if where is None else read_secret(name, where)
        elif name in ("--certfile", "--keyfile"):
            opts[name[2:]] = value()
        elif name == "--allow-plain-secret":
            opts["allow_plain_secret"] = True
        elif name == "--timeout":
            text = value()
            try:
                opts["timeout"] = float(text)
            except ValueError:
                opts["timeout"] = -1.0
            if not 0 < opts["timeout"] <= 3600:
                raise usage_error("--timeout %r: expected seconds, more than 0 and at most 3600" % text)
        elif name == "--connect":
            opts["connect"] = parse_listen(value(), connect=True)
        elif name in ("--ca", "--fingerprint"):
            opts[name[2:]] = value()
        else:
            raise usage_error("unknown option %s (with --pid no program is given: the process is already "
                              "running)" % name)
    if opts["pid"] is None:
        raise usage_error("--pid PID is required")
    return check(opts)  # the launcher's own rules for --listen / --connect, the secret and TLS


def qualifier(opts, address):
    host, port = address
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    if ":" in shown:
        shown = "[%s]" % shown
    text = "%s://%s:%d" % ("tcps" if opts["certfile"] else "tcp", shown, port)
    if opts["secret_source"] == "--secret-env":
        text += " --secret-env %s" % opts["secret_name"]
    elif opts["secret_source"] == "--secret-file":
        text += " --secret-file %s" % opts["secret_name"]
    return text


def _show(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def hub_qualifier(opts, pid):
    host, port = opts["connect"]
    tls = opts["ca"] is not None or opts["fingerprint"] is not None
    text = "'%s://%s?pid=%d%s'" % ("tcps" if tls else "tcp", _show(host, port), pid,
                                   "&fingerprint=%s" % opts["fingerprint"] if opts["fingerprint"] else "")
    if opts["secret_source"] == "--secret-env":
        text += " --secret-env %s" % opts["secret_name"]
    elif opts["secret_source"] == "--secret-file":
        text += " --secret-file %s" % opts["secret_name"]
    return text


def main(argv, parse_listen, read_secret, usage_error, check):
    from longreach.inject import injector
    try:
        opts = parse(argv, parse_listen, read_secret, usage_error, check)
    except usage_error as err:
        sys.stderr.write("%s\nlongreach: error: %s\n" % (USAGE, err))
        return 2
    host, port = opts["listen"] or opts["connect"]
    # the agent opens these files in the target, whose working directory is not ours
    files = dict((key, os.path.abspath(opts[key]) if opts[key] else opts[key]) for key in ("certfile", "keyfile", "ca"))
    options = {"secret": opts["secret"], "host": host, "port": port, "certfile": files["certfile"],
               "keyfile": files["keyfile"], "allow_plain_secret": opts["allow_plain_secret"],
               "connect": opts["connect"] is not None, "ca": files["ca"], "fingerprint": opts["fingerprint"]}
    opts["secret"] = None
    try:
        target, result = injector.inject(opts["pid"], options, timeout=opts["timeout"])
    except LongreachError as err:
        sys.stderr.write("longreach: error [%s]: %s\n" % (err.code, err.message))
        return 1
    finally:
        options = None
    host, port = result["address"]
    if opts["connect"] is not None:
        sys.stdout.write("longreach: agent started in process %d (%s), dialing the hub %s\n" % (
            target.pid, result.get("runtime") or target.describe(), _show(host, port)))
        sys.stdout.write("attach with: longreach attach %s\n" % hub_qualifier(opts, target.pid))
        sys.stdout.flush()
        return 0
    sys.stdout.write("longreach: agent started in process %d (%s), listening on %s:%d\n" % (
        target.pid, result.get("runtime") or target.describe(), host, port))
    sys.stdout.write("attach with: longreach attach %s\n" % qualifier(opts, (host, port)))
    sys.stdout.flush()
    return 0
