"""`mitl run` stops on the first SIGINT or SIGTERM and is not interrupted again while it
stops: a second signal would cut the stop short and leave the broker and services running."""

from __future__ import annotations

import os
import signal
import time

import pytest
from mitl_cli.commands.run import stop_on_signals


@pytest.mark.parametrize("first", [signal.SIGTERM, signal.SIGINT])
def test_the_first_signal_stops_and_later_ones_do_not_interrupt_the_stop(
    first: signal.Signals,
) -> None:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop_on_signals()
        with pytest.raises(KeyboardInterrupt, match=first.name):
            os.kill(os.getpid(), first)
            time.sleep(1)  # the handler runs at the next bytecode; never reached
        # The stop runs now: neither signal interrupts it.
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert (
            signal.getsignal(signal.SIGTERM) == signal.getsignal(signal.SIGINT) == (signal.SIG_IGN)
        )
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
