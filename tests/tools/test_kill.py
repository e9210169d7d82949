"""``kill -9`` mid-write: no orphan worker keeps running, no temporary survives the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(stat) and not stat.startswith("Z")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_killed_synth_leaves_no_orphans_and_its_temporaries_are_cleared(tmp_path):
    out = tmp_path / "sim"
    cmd = [sys.executable, "-m", "weldfusion.tools.synth", "--out", str(out), "--runs", "6", "--pairs", "Al-steel",
           "--workers", "2", "--duration-s", "12"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.time() + 60
    while time.time() < deadline and not (len(workers) >= 2 and any(out.glob(".*.tmp*"))):
        time.sleep(0.2)
        workers = [p for p in _children(proc.pid) if _alive(p)]
    assert len(workers) >= 2, "synth did not start its workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    for _ in range(50):
        if not any(_alive(w) for w in workers):
            break
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "pool workers run on after synth was killed"
    # the killed run's temporaries are cleared by the next run into the folder
    left = sorted(p.name for p in out.glob(".*.tmp*"))
    assert left, "the killed run left no temporary (nothing to test)"
    subprocess.run([sys.executable, "-m", "weldfusion.tools.synth", "--out", str(out), "--runs", "1",
                    "--pairs", "Cu-SS", "--workers", "1", "--duration-s", "3"], check=True, capture_output=True)
    assert not list(out.glob(".*.tmp*"))
