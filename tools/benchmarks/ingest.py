"""``weldfusion bench ingest``: peak memory and speed of ``ingest`` on large videos.

For each size it writes a synthetic high-speed video (``--ingest-frame`` x ``--ingest-frame`` grey
noise, which compresses badly, so the mp4 reaches the size with few frames) and a one-stream
manifest, then ingests it in a fresh Python process that reports its own peak RSS
(``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` would carry over the torch-loaded parent's peak
across ``exec``). A second fresh process that only imports the
same modules gives the baseline. Usage::

    weldfusion bench ingest --ingest-sizes-mb 200,500 --ingest-dir /tmp/bench_ingest --json ingest.json

Then a realistic 1,500-frame 512x512 arc video (the simulator's, 250 fps) is ingested and decoded
only (OpenCV, grey) in the same run: ``ingest.frames_per_s``, ``ingest.decode_frames_per_s`` and
their ratio ``ingest.decode_ratio``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

_CHILD = """
import json, resource, sys, time
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.writer import DEFAULT_COMPRESSION_LEVEL
import weldfusion.sensors.video.io, weldfusion.sensors.thermal.io, weldfusion.sensors.acoustic.io  # noqa
import weldfusion.sensors.electrical.io  # noqa  (the baseline imports every reader too)
t = time.perf_counter()
if sys.argv[1] != "-":
    level = int(sys.argv[3]) if len(sys.argv) > 3 else DEFAULT_COMPRESSION_LEVEL
    ingest(sys.argv[1], sys.argv[2], progress=False, compression_level=level)
def peak_mb():  # VmHWM: this address space's peak RSS (ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - t, "maxrss_mb": peak_mb()}))
"""

#: The same video decoded only (OpenCV, grey frames, as the reader converts them): the ceiling.
_DECODE = """
import json, sys, time
import cv2
cap = cv2.VideoCapture(sys.argv[1])
t = time.perf_counter()
n = 0
while True:
    ok, frame = cap.read()
    if not ok:
        break
    cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    n += 1
print(json.dumps({"seconds": time.perf_counter() - t, "frames": n}))
"""


def make_arc_video(path: Path, side: int = 512, seconds: float = 6.0) -> int:
    """A realistic high-speed video: the simulator's arc, pool and spatter at ``side`` x ``side``
    and 250 fps (mp4v); returns the number of frames."""
    from weldfusion.datasets.simulated import SimConfig, simulate_run  # lazy: only this measurement simulates

    cfg = SimConfig(video_shape=(side, side), video_mm_per_px=0.25 * 64 / side, missing_prob=0.0, gap_prob=0.0)
    frames = simulate_run("Al-steel", "GMAW", 0, 0, cfg, duration_s=seconds).streams["video"].data
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 250.0, (side, side), isColor=False)
    for frame in frames:
        writer.write(frame)
    writer.release()
    return len(frames)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ingest-levels", default="",
                        help="also ingest the arc video at these gzip levels, comma list (e.g. 0,1,4,6)")
    parser.add_argument("--ingest-sizes-mb", default="50,200", help="mp4 sizes to ingest, comma list (MB)")
    parser.add_argument("--ingest-frame", type=int, default=512, help="frame side in pixels (default 512)")
    parser.add_argument("--ingest-rate", type=float, default=2000.0, help="camera rate written to the manifest (Hz)")
    parser.add_argument("--ingest-dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")


def make_video(path: Path, size_mb: float, side: int, seed: int = 0) -> int:
    """Write a grey mp4 (mp4v) of about ``size_mb`` MB; returns the number of frames."""

    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 256, (32, side, side), dtype=np.uint8)
    target = size_mb * 1e6
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 1000.0, (side, side), isColor=False)
    n = 0
    with tqdm(total=int(target), unit="B", unit_scale=True, desc=f"write {path.name}") as bar:
        while True:
            for _ in range(64):
                writer.write(np.roll(pool[n % len(pool)], n, axis=1))
                n += 1
            size = path.stat().st_size if path.exists() else 0
            bar.update(size - bar.n)
            if size >= target:
                break
    writer.release()
    return n


def _child(*argv: str, code: str = _CHILD) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ingest child failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(args) -> list[dict]:
    sizes = [float(s) for s in str(args.ingest_sizes_mb).split(",") if s.strip()]
    if getattr(args, "quick", False):
        sizes = [min(sizes[0], 20.0)]
    work = Path(args.ingest_dir) if args.ingest_dir else Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        base = _child("-", "-")["maxrss_mb"]
        rows.append({"name": "ingest.rss_mb.baseline", "value": base, "unit": "MB"})
        for size in sizes:
            folder = work / f"video_{size:g}MB"
            folder.mkdir(exist_ok=True)
            video = folder / "highspeed.mp4"
            if not video.exists():
                frames = make_video(video, size, args.ingest_frame)
            else:

                frames = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT))
            manifest = folder / "recording.yaml"
            manifest.write_text(
                "recording_id: bench\nmaterial_pair: Al-steel\nmaterial_a: AA6061\nmaterial_b: DC04\n"
                f"process: GMAW\nstreams:\n  video: {{path: highspeed.mp4, rate: {args.ingest_rate}}}\n"
            )
            out = folder / "out.h5"
            out.unlink(missing_ok=True)
            result = _child(str(manifest), str(out))
            decode = _child(str(video), code=_DECODE)
            mp4_mb = video.stat().st_size / 1e6
            raw_mb = frames * args.ingest_frame * args.ingest_frame / 1e6
            tag = f"video_{mp4_mb:.0f}MB"
            rows += [
                {"name": f"ingest.peak_rss_mb.{tag}", "value": result["maxrss_mb"], "unit": "MB"},
                {"name": f"ingest.seconds.{tag}", "value": result["seconds"], "unit": "s"},
                {"name": f"ingest.decoded_mb.{tag}", "value": raw_mb, "unit": "MB"},
                {"name": f"ingest.frames_per_s.{tag}", "value": frames / result["seconds"], "unit": "frames/s"},
                {"name": f"ingest.decode_frames_per_s.{tag}", "value": decode["frames"] / decode["seconds"],
                 "unit": "frames/s"},
                {"name": f"ingest.decode_ratio.{tag}",
                 "value": (frames / result["seconds"]) / (decode["frames"] / decode["seconds"]), "unit": "share"},
                {"name": f"ingest.h5_mb.{tag}", "value": out.stat().st_size / 1e6, "unit": "MB"},
            ]
            out.unlink(missing_ok=True)
        # decode ceiling vs ingest on a realistic (compressible) arc video, same run
        folder = work / "arc_512"
        folder.mkdir(exist_ok=True)
        video = folder / "highspeed.mp4"
        frames = make_arc_video(video, seconds=4.0 if getattr(args, "quick", False) else 6.0) \
            if not video.exists() else int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT))
        (folder / "recording.yaml").write_text(
            "recording_id: arc\nmaterial_pair: Al-steel\nmaterial_a: AA6061\nmaterial_b: DC04\nprocess: GMAW\n"
            "streams:\n  video: {path: highspeed.mp4, rate: 250}\n")
        out = folder / "out.h5"
        out.unlink(missing_ok=True)
        result = _child(str(folder / "recording.yaml"), str(out))
        decode = _child(str(video), code=_DECODE)
        fps, dps = frames / result["seconds"], decode["frames"] / decode["seconds"]
        rows += [{"name": "ingest.frames_per_s", "value": fps, "unit": "frames/s"},
                 {"name": "ingest.decode_frames_per_s", "value": dps, "unit": "frames/s"},
                 {"name": "ingest.decode_ratio", "value": fps / dps, "unit": "share"},
                 {"name": "ingest.peak_rss_mb.arc_512", "value": result["maxrss_mb"], "unit": "MB"},
                 {"name": "ingest.h5_mb.arc_512", "value": out.stat().st_size / 1e6, "unit": "MB"},
                 {"name": "ingest.mp4_mb.arc_512", "value": video.stat().st_size / 1e6, "unit": "MB"}]
        out.unlink(missing_ok=True)
        for level in (int(v) for v in str(getattr(args, "ingest_levels", "")).split(",") if v.strip()):
            result = _child(str(folder / "recording.yaml"), str(out), str(level))
            rows += [{"name": f"ingest.frames_per_s.level{level}", "value": frames / result["seconds"], "unit": "frames/s"},
                     {"name": f"ingest.decode_ratio.level{level}", "value": frames / result["seconds"] / dps,
                      "unit": "share"},
                     {"name": f"ingest.h5_mb.level{level}", "value": out.stat().st_size / 1e6, "unit": "MB"}]
            out.unlink(missing_ok=True)
    finally:
        if args.ingest_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return rows
