# The soak benchmark's busy Python program: calls work() every 2 ms and prints now and then, until killed.
import sys
import time


def work(i):
    x = i * 2  # @work
    return x


i = 0
while True:
    work(i)
    i += 1
    if i % 500 == 0:
        print("tick", i)
        sys.stdout.flush()
    time.sleep(0.002)
