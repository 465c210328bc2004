"""Loaded by every Python process that .ci/faketime starts (it puts this folder on PYTHONPATH).

With the monotonic clock left real (FAKETIME_DONT_FAKE_MONOTONIC, without which timed waits on
locks hang: libfaketime issue 390), Debian's libfaketime 0.9.10 still shifts the deadline of
clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which Python 3.11's time.sleep uses, and the
kernel refuses it with EINVAL (libfaketime issue 426). Sleeping on a lock's timeout instead
waits on the real monotonic clock, as a machine whose date is the faked one would.
"""

import os
import threading
import time

if os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":

    def _sleep(seconds):
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        threading.Event().wait(seconds)

    time.sleep = _sleep
