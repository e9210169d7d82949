"""The machine a benchmark ran on: CPU model, cores, torch version, device."""

from __future__ import annotations

import platform
from pathlib import Path

import torch
from weldfusion.datasets.writer import cpu_count


def machine(device: str = "cpu") -> dict:
    """CPU model, cores, torch version and device of this run."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = cpu_count()
    dev = device if device == "cpu" else f"{device} ({torch.cuda.get_device_name(0)})"
    return {"cpu": cpu, "cores": cores, "torch": torch.__version__, "device": dev}
