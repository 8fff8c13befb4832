"""Runs inside the target process: the injected bootstrap execs this file with PARAMS, the path of the 0600
parameter file. It claims that file (rename: when the injector has already given up and withdrawn it, nothing
happens), reads and deletes it at once, loads the longreach package from the directory the injector named (without
touching sys.path), starts the ordinary agent with enable_attach(), and writes the outcome next to it for the
injector. It never raises and never writes to the program's streams."""


def _boot(params_path):
    import json
    import os
    taken = params_path + ".taken"
    try:
        os.rename(params_path, taken)
    except OSError:
        return  # withdrawn: the injector timed out and the process stays as it was
    try:
        with open(taken, encoding="utf-8") as f:
            params = json.load(f)
    finally:
        try:
            os.unlink(taken)
        except OSError:
            pass
    result = _start(params)
    params = None
    _report(os.path.join(os.path.dirname(params_path), "result.json"), result)


def _start(params):
    import sys
    try:
        longreach = sys.modules.get("longreach")
        if longreach is None:
            longreach = _load(params["package"])
        api = sys.modules.get("longreach.api")
        server = getattr(api, "_server", None)
        if server is not None:
            dialer = getattr(server, "dialer", None)
            address = (dialer.host, dialer.port) if dialer is not None else server.address[:2]
            return {"ok": False, "code": "LR_ALREADY_ENABLED", "address": list(address)}
        if params.get("connect"):
            host, port = longreach.enable_attach(params["secret"], connect=(params["host"], params["port"]),
                                                 ca=params.get("ca"), fingerprint=params.get("fingerprint"))
        else:
            host, port = longreach.enable_attach(params["secret"], address=(params["host"], params["port"]),
                                                 certfile=params["certfile"], keyfile=params["keyfile"],
                                                 allow_plain_secret=params["allow_plain_secret"])
        from longreach import processinfo
        return {"ok": True, "address": [host, port], "runtime": processinfo.runtime()[2]}
    except Exception as err:
        return {"ok": False, "code": getattr(err, "code", "LR_INTERNAL"),
                "message": getattr(err, "message", None) or "%s: %s" % (type(err).__name__, err)}


def _load(package_dir):
    import importlib.util
    import os
    import sys
    spec = importlib.util.spec_from_file_location("longreach", os.path.join(package_dir, "__init__.py"),
                                                  submodule_search_locations=[package_dir])
    module = importlib.util.module_from_spec(spec)
    sys.modules["longreach"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        for name in [n for n in sys.modules if n == "longreach" or n.startswith("longreach.")]:
            del sys.modules[name]
        raise
    return module


def _report(path, result):
    import json
    import os
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(result, f)
        os.rename(tmp, path)
    except OSError:
        pass


if __name__ == "__longreach_boot__":
    try:
        _boot(PARAMS)  # noqa: F821 (given by the bootstrap)
    except BaseException:
        pass
