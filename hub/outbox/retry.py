"""How long something sent after a commit (a mail, a webhook's message) waits after a failure."""

from datetime import timedelta


def delay_after(delays, failures):
    """The wait after the ``failures``-th failure in a row: ``delays`` are the seconds before
    attempt 2, 3, …, and the last of them again after that."""
    return timedelta(seconds=delays[min(max(failures, 1), len(delays)) - 1])
