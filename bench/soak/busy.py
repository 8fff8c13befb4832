# The soak benchmark's busy Python program: calls work() every 2 ms and prints now and then, until killed.
# On SIGUSR2 it runs a full collection and says so ("heap - -"), so that each sample of the benchmark is taken
# right after one.
import gc
import signal
import sys
import time


def work(i):
    x = i * 2  # @work
    return x


def collect(signum, frame):
    gc.collect()
    print("heap - -")
    sys.stdout.flush()


signal.signal(signal.SIGUSR2, collect)
i = 0
while True:
    work(i)
    i += 1
    if i % 500 == 0:
        print("tick", i)
        sys.stdout.flush()
    time.sleep(0.002)
