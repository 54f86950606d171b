"""Run headless Chromium once, for the site check and the explorer check.

A headless Chromium that hangs is a fault of the check's machinery, not of the page: about one
run in fifty (measured here: 2 of 84 to 3 of 163 page loads with Debian's Chromium 150 on 2
cores, whatever the flags) never prints the page nor writes its screenshot, while the others take
1 to 3 s. So each run gets its own process group, the whole group is killed when the time is up,
and the run is tried again, up to ``attempts`` times, before the timeout counts against the page.
The attempts get longer: a quarter of ``timeout``, then half, then all of it, so a hang usually
costs 30 s, not 120 s, and a page that is merely slow still gets the whole time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile

__all__ = ["budgets", "run"]


def _once(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the browser and every helper it started
        except ProcessLookupError:
            pass
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def budgets(timeout: float, attempts: int) -> list[float]:
    """Seconds for each attempt: ``timeout`` for the last, half the next one's for each before it."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    return [timeout / 2 ** (attempts - i) for i in range(1, attempts + 1)]


def run(browser: str, flags: list[str] | tuple[str, ...], args: list[str], timeout: float = 120,
        attempts: int = 3) -> subprocess.CompletedProcess:
    """``browser flags --user-data-dir=<fresh profile> args``, its output captured as text.

    Each attempt has a fresh profile; the last has ``timeout`` seconds, each earlier one half as
    many as the next (:func:`budgets`). Raises ``subprocess.TimeoutExpired`` only when all
    ``attempts`` timed out.
    """
    for attempt, budget in enumerate(budgets(timeout, attempts), 1):
        # Chromium's helper processes may still write to the profile as it exits: a failed clean-up
        # of that temporary folder must not fail the check (it did once in a smoke build)
        with tempfile.TemporaryDirectory(prefix="catapult-chromium-", ignore_cleanup_errors=True) as profile:
            try:
                return _once([browser, *flags, f"--user-data-dir={profile}", *args], budget)
            except subprocess.TimeoutExpired:
                if attempt == attempts:
                    raise
    raise AssertionError("unreachable")
