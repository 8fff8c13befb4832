"""One benchmark run in a fresh process: python child.py MODE WORKLOAD.

MODE plain: no agent at all; listen: enable_attach and nobody comes; attach: enable_attach, then wait until the
runner has attached and configured. Prints "PORT n" and "TIME seconds" straight to fd 1 (not through sys.stdout,
which the agent redirects while attached)."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))


def main():
    mode, name = sys.argv[1], sys.argv[2]
    if mode != "plain":
        import longreach
        _host, port = longreach.enable_attach("bench-secret", address=("127.0.0.1", 0))
        os.write(1, ("PORT %d\n" % port).encode())
        if mode == "attach":
            if not longreach.wait_for_attach(timeout=60):
                os.write(1, b"ERROR nobody attached\n")
                return 2
    import workloads
    if name == "latency":
        big = os.environ.get("LONGREACH_BENCH_BIG")
        if big:  # a 3,000-line module the runner sets breakpoints in
            import importlib.util
            spec = importlib.util.spec_from_file_location("bench_big", big)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules["bench_big"] = module
        # on a thread started after attach: PyPy cannot trace a main thread that was running before attach
        import threading
        t = threading.Thread(target=workloads.latency_probe)
        t.start()
        t.join()
        return 0
    fn = workloads.WORKLOADS[name][0]
    fn(workloads.WARMUP[name])  # the same warm-up in every mode (it matters for PyPy's JIT)
    started, cpu = time.perf_counter(), time.process_time()
    fn()
    # wall seconds, and the CPU seconds of the whole process (every thread, the agent's too) over the same span
    os.write(1, ("TIME %.6f %.6f\n" % (time.perf_counter() - started, time.process_time() - cpu)).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
