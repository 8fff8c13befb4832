"""The launcher: python -m longreach --listen [HOST:]PORT (--secret-env VAR | --secret-file FILE | --no-secret)
[--certfile F --keyfile F] [--wait] [--allow-plain-secret] [--no-subprocess] (script.py | -m module | -c code) [args ...]
(or --connect HOST:PORT [--ca F | --fingerprint sha256:HEX] instead of --listen: dial a hub, listen on nothing)

Starts the debug server, then runs the program as __main__ exactly as `python script.py` (or -m / -c) would.
"""

import builtins
import os
import sys
import types

USAGE = """usage: python -m longreach --listen [HOST:]PORT (--secret-env VAR | --secret-file FILE | --no-secret)
                          [--certfile FILE --keyfile FILE] [--wait] [--allow-plain-secret] [--no-subprocess]
                          (script.py | -m module | -c code) [args ...]
       python -m longreach --connect HOST:PORT (--secret-env VAR | --secret-file FILE)
                          [--ca FILE | --fingerprint sha256:HEX] [--wait] [--no-subprocess]
                          (script.py | -m module | -c code) [args ...]"""

HELP = USAGE + """

Run a Python program with the Longreach debug server listening, so a debugger can attach with
tcp://SECRET@HOST:PORT (or tcps:// with --certfile/--keyfile).

options:
  --listen [HOST:]PORT    address to listen on (HOST defaults to 0.0.0.0; [::1]:PORT for IPv6; port 0 picks one)
  --connect HOST:PORT     listen on nothing: dial the hub there (longreach listen) and keep dialing while it is
                          away; the hub must prove it knows the secret first
  --ca FILE               with --connect: speak TLS, trust the hub's certificate if this CA file vouches for it
  --fingerprint sha256:HEX  with --connect: speak TLS, trust the hub's certificate with this fingerprint
  --secret-env VAR        read the secret from environment variable VAR
  --secret-file FILE      read the secret from FILE (one line)
  --no-secret             let anyone who can reach the port attach (prints a warning off loopback)
  --certfile FILE         TLS certificate (PEM); needs --keyfile
  --keyfile FILE          TLS private key (PEM)
  --wait                  do not start the program until a debugger has attached and configured
  --allow-plain-secret    accept a secret in attach arguments over plain tcp://
  --no-subprocess         do not follow child processes (by default they join the job: ?pid=PID reaches one)
  -h, --help              show this help

The secret is never accepted on the command line, where `ps` shows it to every user.
To load the agent into a process that is already running: python -m longreach --pid PID --help (docs/inject.md)."""


class UsageError(Exception):
    pass


def parse(argv):
    """Options dict and the program's argv ("-m"/"-c" first for those forms). UsageError on bad input."""
    opts = {"listen": None, "connect": None, "ca": None, "fingerprint": None, "secret": None, "secret_source": None,
            "certfile": None, "keyfile": None, "wait": False, "allow_plain_secret": False, "no_subprocess": False}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")

        def value():
            if eq:
                return inline
            if not args:
                raise UsageError("%s needs a value" % name)
            return args.pop(0)

        if name in ("-h", "--help"):
            raise SystemExit(_print_help())
        if name == "--secret" or (name.startswith("--secret") and name not in ("--secret-env", "--secret-file")):
            raise UsageError("there is no %s option: a secret on the command line is visible to every user through "
                             "ps; use --secret-env VAR or --secret-file FILE" % name.split("=")[0])
        if name == "--listen":
            opts["listen"] = _parse_listen(value())
        elif name in ("--secret-env", "--secret-file", "--no-secret"):
            if opts["secret_source"] is not None:
                raise UsageError("give only one of --secret-env, --secret-file and --no-secret")
            opts["secret_source"] = name
            opts["secret"] = None if name == "--no-secret" else _read_secret(name, value())
            if name == "--no-secret" and eq:
                raise UsageError("--no-secret takes no value")
        elif name == "--connect":
            opts["connect"] = _parse_listen(value(), connect=True)
        elif name in ("--certfile", "--keyfile", "--ca", "--fingerprint"):
            opts[name[2:]] = value()
        elif name in ("--wait", "--allow-plain-secret", "--no-subprocess"):
            if eq:
                raise UsageError("%s takes no value" % name)
            opts[name[2:].replace("-", "_")] = True
        elif arg in ("-m", "-c"):
            if not args:
                raise UsageError("%s needs a %s" % (arg, "module name" if arg == "-m" else "code string"))
            return _checked(opts), [arg] + args
        elif arg.startswith("-m") or arg.startswith("-c"):
            return _checked(opts), [arg[:2], arg[2:]] + args
        elif arg == "--":
            if not args:
                raise UsageError("missing the program to run after --")
            return _checked(opts), args
        elif arg.startswith("-") and arg != "-":
            raise UsageError("unknown option %s" % name)
        else:
            return _checked(opts), [arg] + args
    _checked(opts)
    raise UsageError("missing the program to run: script.py, -m module or -c code")


def _checked(opts):
    if opts["listen"] is None and opts["connect"] is None:
        raise UsageError("--listen [HOST:]PORT is required (or --connect HOST:PORT to dial a hub)")
    if opts["listen"] is not None and opts["connect"] is not None:
        raise UsageError("give --listen or --connect, not both")
    if opts["connect"] is None and (opts["ca"] or opts["fingerprint"]):
        raise UsageError("--ca and --fingerprint trust a hub: they go with --connect")
    if opts["connect"] is not None and (opts["certfile"] or opts["keyfile"] or opts["allow_plain_secret"]):
        raise UsageError("--certfile, --keyfile and --allow-plain-secret are for --listen; with --connect the hub "
                         "serves TLS (trust it with --ca or --fingerprint)")
    if opts["connect"] is not None and opts["secret_source"] == "--no-secret":
        raise UsageError("--connect needs a secret (--secret-env or --secret-file): the hub must prove it knows it")
    if opts["secret_source"] is None:
        raise UsageError("choose how to get the secret: --secret-env VAR, --secret-file FILE or --no-secret")
    if bool(opts["certfile"]) != bool(opts["keyfile"]):
        raise UsageError("--certfile and --keyfile go together")
    return opts


def _parse_listen(text, connect=False):
    option = "--connect" if connect else "--listen"
    if connect and ":" not in text:
        raise UsageError("--connect %r: expected HOST:PORT of the hub, e.g. bastion.example.com:5678" % text)
    host, port = "0.0.0.0", text
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1:close + 2] != ":":
            raise UsageError("%s %r: write an IPv6 address as [ADDR]:PORT" % (option, text))
        host, port = text[1:close], text[close + 2:]
    elif ":" in text:
        host, _, port = text.rpartition(":")
        if ":" in host:
            raise UsageError("%s %r: write an IPv6 address as [ADDR]:PORT" % (option, text))
    if not host or not port.isdigit() or int(port) > 65535 or (connect and int(port) == 0):
        raise UsageError("%s %r: expected [HOST:]PORT with PORT from %d to 65535, e.g. 5678 or "
                         "0.0.0.0:5678" % (option, text, 1 if connect else 0))
    return host, int(port)


def _read_secret(option, where):
    if option == "--secret-env":
        secret = os.environ.get(where)
        if not secret:
            raise UsageError("--secret-env %s: the environment variable is not set or empty" % where)
        return secret
    try:
        with open(where, encoding="utf-8") as f:
            secret = f.read().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError("--secret-file %s: cannot read it (%s)" % (where, getattr(err, "strerror", None) or err))
    if not secret:
        raise UsageError("--secret-file %s: the file is empty" % where)
    return secret


def _print_help():
    sys.stdout.write(HELP + "\n")
    return 0


def _fresh_main(**attrs):
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    main.__annotations__ = {}
    for key, value in attrs.items():
        setattr(main, key, value)
    sys.modules["__main__"] = main
    return main


def run_script(path, args):
    if os.path.isdir(path) or (os.path.isfile(path) and not path.endswith(".py") and _is_zip(path)):
        import runpy
        sys.argv = [path] + args
        sys.path[0] = path
        runpy.run_path(path, run_name="__main__")
        return
    full = os.path.abspath(path)
    try:
        with open(full, "rb") as f:
            source = f.read()
    except OSError as err:
        sys.stderr.write("%s: can't open file %r: [Errno %d] %s\n" % (sys.executable, full if sys.version_info >= (
            3, 9) else path, err.errno, err.strerror))
        raise SystemExit(2)
    filename = full if sys.version_info >= (3, 9) else path
    import importlib.machinery
    main = _fresh_main(__file__=filename, __cached__=None, __package__=None, __spec__=None,
                       __loader__=importlib.machinery.SourceFileLoader("__main__", filename))
    sys.argv = [path] + args
    sys.path[0] = os.path.dirname(os.path.realpath(full))
    code = compile(source, filename, "exec", dont_inherit=True)
    exec(code, main.__dict__)


def _is_zip(path):
    import zipfile
    return zipfile.is_zipfile(path)


def run_module(name, args):
    import runpy
    sys.argv = ["-m"] + args
    _fresh_main(__file__=None)
    del sys.modules["__main__"].__file__
    runpy._run_module_as_main(name, alter_argv=True)


def run_code(code, args):
    main = _fresh_main(__package__=None, __spec__=None, __loader__=builtins.__loader__ if hasattr(
        builtins, "__loader__") else None)
    sys.argv = ["-c"] + args
    sys.path[0] = ""
    compiled = compile(code, "<string>", "exec", dont_inherit=True)
    import linecache
    if hasattr(linecache, "_register_code"):
        linecache._register_code("<string>", code, "<string>")  # 3.13+: python -c tracebacks show the source
    exec(compiled, main.__dict__)


def _user_traceback(tb):
    """Drop the launcher's frames (everything up to its last frame) so the traceback reads exactly as if Python had
    run the program itself (for -m that keeps runpy's frames, as python -m shows them)."""
    ours = os.path.normcase(os.path.abspath(__file__))
    start = tb
    while tb is not None:
        if os.path.normcase(os.path.abspath(tb.tb_frame.f_code.co_filename)) == ours:
            start = tb.tb_next
        tb = tb.tb_next
    return start


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    from longreach.inject import cli as inject_cli
    if inject_cli.wanted(argv):  # --pid: load the agent into a running process (longreach/inject)
        return inject_cli.main(argv, _parse_listen, _read_secret, UsageError, _checked)
    try:
        opts, program = parse(argv)
    except UsageError as err:
        sys.stderr.write("%s\nlongreach: error: %s\n" % (USAGE, err))
        return 2
    # Until the program starts, sys.argv describes it (the process event and processInfo read it), not the launcher:
    # [script, args...], ["-m", module, args...] or ["-c", args...] as python would show; the runners then set the
    # program's own.
    sys.argv = ["-c"] + program[2:] if program[0] == "-c" else list(program)
    import longreach
    from longreach import program as program_state
    try:
        if opts["connect"] is not None:
            longreach.enable_attach(opts["secret"], connect=opts["connect"], ca=opts["ca"],
                                    fingerprint=opts["fingerprint"], subprocess=not opts["no_subprocess"])
        else:
            longreach.enable_attach(opts["secret"], address=opts["listen"], certfile=opts["certfile"],
                                    keyfile=opts["keyfile"], allow_plain_secret=opts["allow_plain_secret"],
                                    subprocess=not opts["no_subprocess"])
    except longreach.LongreachError as err:
        sys.stderr.write("longreach: error: %s\n" % err)
        return 2
    wait = opts["wait"]
    opts = None  # drop the secret from this frame before the program runs
    if program and program[0] == "-m":
        runner, target, args = run_module, program[1], program[2:]
    elif program and program[0] == "-c":
        runner, target, args = run_code, program[1], program[2:]
    else:
        runner, target, args = run_script, program[0], program[1:]
    try:
        if wait:
            longreach.wait_for_attach()
        runner(target, args)
    except SystemExit as exc:
        program_state.note_exit(program_state.system_exit_status(exc.code))
        raise
    except BaseException as exc:
        tb = _user_traceback(exc.__traceback__)
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        status = 130 if isinstance(exc, KeyboardInterrupt) else 1
        program_state.note_exit(status)
        return status
    program_state.note_exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
