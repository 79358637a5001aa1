"""Work nobody waits for yields the CPU.

The thumbnail loader draws icons for the whole library at start-up, on the cores the preview
worker and the 3D render thread need for what the user is looking at. It lowers its own
scheduling priority (a higher nice value) when it starts and still gets every cycle the others
do not want. The preview worker and the render thread keep normal priority: niced, they lost
most of their frames whenever anything else ran on a 2-core machine.
"""

from __future__ import annotations

import os
import threading

BACKGROUND_NICE = 10


def lower_this_thread() -> None:
    """Give the calling thread (and threads it starts later) background priority.

    On Linux a nice value belongs to a thread; elsewhere, or where the call is refused, the
    thread keeps its priority (nothing else changes).
    """
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, max(current, BACKGROUND_NICE))
    except OSError:
        pass
