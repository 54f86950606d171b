"""Run headless Chromium once, for the site check and the explorer check.

A headless Chromium that hangs (it happens now and then on a loaded machine: a renderer that
never reports back, a helper process that keeps the output pipe open) is a fault of the check's
machinery, not of the page. So each run gets its own process group, the whole group is killed
when the time is up, and the run is tried again, up to ``attempts`` times, before the timeout
counts against the page.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile

__all__ = ["run"]


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


def run(browser: str, flags: list[str] | tuple[str, ...], args: list[str], timeout: float = 120,
        attempts: int = 3) -> subprocess.CompletedProcess:
    """``browser flags --user-data-dir=<fresh profile> args``, its output captured as text.

    Each attempt has a fresh profile and ``timeout`` seconds; raises ``subprocess.TimeoutExpired``
    only when all ``attempts`` timed out.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for attempt in range(1, attempts + 1):
        # Chromium's helper processes may still write to the profile as it exits: a failed clean-up
        # of that temporary folder must not fail the check (it did once in a smoke build)
        with tempfile.TemporaryDirectory(prefix="catapult-chromium-", ignore_cleanup_errors=True) as profile:
            try:
                return _once([browser, *flags, f"--user-data-dir={profile}", *args], timeout)
            except subprocess.TimeoutExpired:
                if attempt == attempts:
                    raise
    raise AssertionError("unreachable")
