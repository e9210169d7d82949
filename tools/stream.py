"""``weldfusion stream CHECKPOINT (RECORDING.h5 | --lsl [PREFIX]) [--realtime] [--onnx F] [--out FILE.csv|.jsonl]``.

Replays a recording — or receives live sensors over Lab Streaming Layer (``--lsl``: the outlets
``PREFIX.<modality>`` that ``weldfusion serve-replay --lsl`` or a lab's own publisher makes) —
as live sensor streams (each at its native rate, in camera frames and 10 ms
DAQ blocks) and runs sliding-window inference every hop on the latest complete window: phase with
probability, defect probabilities (refined over time, paper Eq. 49), debounced defect alarms,
modality weights and latency, on a live console line and optionally as CSV / JSONL rows (written
to a temporary file and renamed at the end). ``--realtime`` paces the replay on the wall clock and
reports the share of hops whose result was out before the next one was due. A summary follows.

Examples::

    weldfusion stream runs/demo/best.pt data/sim/al-steel_gmaw_0003.h5 --realtime --out live.csv
    weldfusion export runs/demo/best.pt --onnx demo.onnx
    weldfusion stream runs/demo/best.pt data/sim/al-steel_gmaw_0003.h5 --onnx demo.onnx --stall video:3-4.5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from weldfusion.recipes.errors import InvalidInput, MissingInput
from weldfusion.tools.cli import description, parse_stalls
from weldfusion.tools.errors import run as run_tool
from weldfusion.tools.outputs import output_file
from weldfusion.tools.streaming.defaults import BACKENDS, HOP_S, M_OFF, N_ON


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weldfusion stream", description=description(__doc__))
    p.add_argument("checkpoint", type=Path, help="checkpoint (.pt) or run folder (-> best.pt)")
    p.add_argument("recording", type=Path, nargs="?", help="recording to replay (.h5); omit with --lsl")
    p.add_argument("--lsl", nargs="?", const="weldfusion", metavar="PREFIX",
                   help="receive the LSL outlets PREFIX.<modality> (default prefix weldfusion) instead of a recording")
    p.add_argument("--lsl-map", type=Path, metavar="MAP.yaml",
                   help="receive a lab's own LSL outlets (DAQ, microphone, camera) as this stream map names them")
    p.add_argument("--opcua", type=Path, metavar="MAP.yaml",
                   help="receive process data from the OPC UA nodes of this node map (with --lsl: the rest over LSL)")
    p.add_argument("--reconnect-s", type=float, default=10.0,
                   help="--opcua, --camera: how long a lost server or camera is retried while the other sensors go on "
                        "(default 10)")
    p.add_argument("--camera", metavar="SPEC",
                   help="live video from an OpenCV capture: device index (0), video file or RTSP/GStreamer URL")
    p.add_argument("--camera-rate", type=float, help="--camera: frames/s when the capture reports none")
    p.add_argument("--mic", metavar="DEVICE",
                   help="live sound from a PortAudio input (sounddevice): device index, name, or 'default'")
    p.add_argument("--mic-rate", type=float, default=48000.0, help="--mic: samples/s (default 48000)")
    p.add_argument("--mic-scale", type=float,
                   help="--mic: the microphone's sensitivity in Pa per full scale (without it: uncalibrated FS units)")
    p.add_argument("--pair", help="live sources without recording metadata (a camera): the material pair")
    p.add_argument("--process", help="live sources without recording metadata (a camera): the welding process")
    p.add_argument("--resolve-s", type=float, default=10.0, help="--lsl: how long to look for outlets (default 10)")
    p.add_argument("--realtime", action="store_true", help="pace the replay on the wall clock")
    p.add_argument("--hop-s", type=float, default=HOP_S, help=f"seconds between windows (default {HOP_S})")
    p.add_argument("--onnx", type=Path, help="run this ONNX export of the checkpoint with ONNX Runtime")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="inference path: auto (default: the fastest that reproduces the eager model: ONNX Runtime "
                        "on --onnx FILE or on an export made at start, else torchscript, else eager), eager, "
                        "torchscript, onnx")
    p.add_argument("--out", type=Path, help="per-hop rows to FILE.csv or FILE.jsonl")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    p.add_argument("--timeout-s", type=float, default=0.25,
                   help="a sensor silent this long is marked missing (default 0.25)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for inference (default 1)")
    p.add_argument("--stall", action="append", default=[], metavar="MODALITY:START-END",
                   help="simulate a sensor that delivers nothing from START to END s (repeatable)")
    p.add_argument("--alarm-on", type=float, help="open a defect alarm above this probability "
                   "(default: the checkpoint's per-class thresholds)")
    p.add_argument("--alarm-off", type=float, help="close it below this probability (default 0.75 x on)")
    p.add_argument("--alarm-hops", default=f"{N_ON},{M_OFF}", metavar="N,M",
                   help=f"hops above / below the thresholds to open / close an alarm (default {N_ON},{M_OFF})")
    p.add_argument("--quiet", action="store_true", help="no live line (events and summary still printed)")
    return p


def _check_args(args) -> tuple[int, int]:
    if not args.hop_s > 0:
        raise InvalidInput(f"--hop-s must be > 0, got {args.hop_s}")
    if not args.timeout_s > 0:
        raise InvalidInput(f"--timeout-s must be > 0, got {args.timeout_s}")
    if args.threads < 1:
        raise InvalidInput(f"--threads must be >= 1, got {args.threads}")
    try:
        n_on, m_off = (int(v) for v in args.alarm_hops.split(","))
    except ValueError:
        raise InvalidInput(f"--alarm-hops: expected N,M, got {args.alarm_hops!r}") from None
    live = live_source(args)
    if (args.recording is None) == (not live):
        raise InvalidInput("give a RECORDING.h5 to replay or --lsl/--lsl-map/--opcua/--camera/--mic to receive live sensors "
                           "(not both)")
    if args.camera_rate is not None and not (0 < args.camera_rate < 1e6):
        raise InvalidInput(f"--camera-rate must be in (0, 1e6) frames/s, got {args.camera_rate}")
    if live and (args.stall or args.realtime):
        raise InvalidInput("--stall/--realtime apply to a replay, not to live --lsl/--opcua/--camera/--mic sources")
    if args.opcua is not None:
        # lazy: the maps are read (and checked) before the model loads
        from weldfusion.tools.streaming.opcua_map import read_node_map

        read_node_map(args.opcua)
    if args.lsl_map is not None:
        # lazy: the maps are read (and checked) before the model loads
        from weldfusion.tools.streaming.lsl_map import read_lsl_map

        read_lsl_map(args.lsl_map)
    if not args.resolve_s > 0:
        raise InvalidInput(f"--resolve-s must be > 0, got {args.resolve_s}")
    if not args.reconnect_s >= 0:
        raise InvalidInput(f"--reconnect-s must be >= 0, got {args.reconnect_s}")
    if args.out is not None:
        output_file(args.out, force=args.force, suffixes=(".csv", ".jsonl"),
                    inputs=[p for p in (args.recording, args.checkpoint, args.onnx) if p is not None])
    if args.recording is None:
        pass
    elif args.recording.is_dir():
        raise InvalidInput(f"{args.recording}: is a folder; stream takes one recording file (.h5) — "
                           "`weldfusion predict` scores a folder")
    elif not args.recording.is_file():
        raise MissingInput(f"{args.recording}: no such recording file")
    if args.onnx is not None and not args.onnx.is_file():
        raise MissingInput(f"{args.onnx}: no such ONNX file")
    if args.onnx is not None and args.backend not in ("auto", "onnx"):
        raise InvalidInput(f"--onnx runs the onnx backend, not --backend {args.backend}")
    return n_on, m_off


def print_summary(summary, backend: str, threads: int, out=None) -> None:
    d = summary.to_dict()
    print(f"stream: {summary.hops} hops of {summary.hop_s:g} s over {summary.stream_s:.2f} s of recording in "
          f"{summary.wall_s:.2f} s ({backend}, {threads} thread{'s' if threads > 1 else ''})", file=out)
    if summary.hops:
        print(f"compute per hop: mean {d['compute_ms']['mean']:.1f} ms, p50 {d['compute_ms']['p50']:.1f} ms, "
              f"p99 {d['compute_ms']['p99']:.1f} ms -> real-time factor {summary.realtime_factor:.1f}", file=out)
    if summary.realtime:
        share = summary.on_time_share
        print(f"realtime: {100 * share:.1f}% of hops on time ({summary.on_time}/{summary.hops + summary.skipped}, "
              f"{summary.skipped} skipped); latency from window end p50 {d['latency_ms']['p50']:.1f} ms, "
              f"p99 {d['latency_ms']['p99']:.1f} ms" if share is not None else "realtime: no hops", file=out)
    if summary.no_data:
        print(f"{summary.no_data} windows without any sensor (no inference)", file=out)
    alarms = [f"{a['defect']} {a['start_s']:.2f}-{a['end_s']:.2f} s (peak {a['peak']:.2f})" if a["end_s"] is not None
              else f"{a['defect']} from {a['start_s']:.2f} s, open at the end (peak {a['peak']:.2f})"
              for a in summary.alarms]
    print("alarms: " + ("; ".join(alarms) if alarms else "none"), file=out)
    if summary.sensor_events:
        print("sensors: " + "; ".join(f"{e.name} {e.kind} at {e.time_s:.2f} s" for e in summary.sensor_events),
              file=out)


def live_source(args) -> bool:
    """Whether the verb receives live sensors instead of replaying a recording."""
    return any(v is not None for v in (args.lsl, args.lsl_map, args.opcua, args.camera, args.mic))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    n_on, m_off = _check_args(args)
    stalls = parse_stalls(args.stall)
    # lazy: --help, bad options and bad paths answer without loading torch
    import torch
    from weldfusion.tools.streaming.build import build_backend, build_engine
    from weldfusion.tools.streaming.output import ConsoleLine, RowWriter
    from weldfusion.tools.streaming.replay import Replay
    from weldfusion.tools.training.loading import load_trained

    torch.set_num_threads(args.threads)
    trained = load_trained(args.checkpoint)
    backend, how = build_backend(trained, args.backend, onnx=args.onnx, threads=args.threads)
    native = getattr(backend, "native_kernels", None)  # eager / TorchScript: the faster CPU kernels, measured
    kernels = "" if native is None else f"; CPU kernels: {'PyTorch native' if native else 'oneDNN'}, the faster here"
    print(f"inference: {backend.name} ({how}{kernels})", flush=True)
    info = trained.info
    if live_source(args):
        # lazy: liblsl / asyncua are loaded only for live sources
        from weldfusion.tools.streaming.sources import MergedSource

        sources = []
        if args.opcua is not None:
            # lazy: asyncua only for OPC UA sources
            from weldfusion.tools.streaming.opcua import OpcUaSource

            sources.append(OpcUaSource(str(args.opcua), info.names, reconnect_limit_s=args.reconnect_s))
        if args.camera is not None:
            # lazy: the camera source only with --camera
            from weldfusion.tools.streaming.camera import CameraSource

            sources.append(CameraSource(args.camera, rate=args.camera_rate, reconnect_s=args.reconnect_s))
        if args.mic is not None:
            # lazy: PortAudio only with --mic
            from weldfusion.tools.streaming.microphone import MicrophoneSource

            sources.append(MicrophoneSource(args.mic, args.mic_rate, scale=args.mic_scale))
        if args.lsl_map is not None:
            # lazy: liblsl only for LSL sources
            from weldfusion.tools.streaming.lsl_mapped import MappedLslSource

            taken = {n for src in sources for n in src.names}
            wanted = [n for n in info.names if n not in taken]
            sources.append(MappedLslSource(args.lsl_map, wanted, resolve_s=args.resolve_s,
                                           channel_names={n: tuple(info.modality(n).channel_names) for n in wanted}))
        if args.lsl is not None:
            # lazy: liblsl only for LSL sources
            from weldfusion.tools.streaming.lsl import LslSource

            taken = {n for src in sources for n in src.names}
            sources.append(LslSource([n for n in info.names if n not in taken], prefix=args.lsl,
                                     resolve_s=args.resolve_s))
        source = sources[0] if len(sources) == 1 else MergedSource(sources)
        for key, value in (("material_pair", args.pair), ("process", args.process)):
            if value is not None:
                source.meta[key] = value
            elif key not in source.meta:
                raise InvalidInput(f"{source.path}: carries no {key}; give --{key.split('_')[-1]}")
    else:
        source = Replay(args.recording, names=info.names, stalls=stalls)
    with source as replay:
        missing = [n for n in stalls if n not in replay.names]
        if missing:
            raise InvalidInput(f"--stall: {missing[0]!r} is not a stream the model reads from {args.recording}")
        engine = build_engine(trained, replay, hop_s=args.hop_s, backend=backend, timeout_s=args.timeout_s,
                              alarm_on=args.alarm_on, alarm_off=args.alarm_off, n_on=n_on, m_off=m_off)
        absent = [n for n in info.names if n not in replay.names]
        label = args.recording.name if args.recording else replay.path
        print(f"streaming {label} ({replay.meta.get('material_pair')}, {replay.meta.get('process')}): "
              f"{', '.join(f'{n} {replay.headers[n].rate:g} Hz' for n in replay.names)}"
              + (f"; no {', '.join(absent)} stream" if absent else "")
              + f"; window {info.window_s:g} s every {args.hop_s:g} s" + (", real time" if args.realtime else ""),
              flush=True)
        writer = RowWriter(args.out, info.phases, info.defects, info.names) if args.out is not None else None
        console = ConsoleLine(info.names, info.defects)

        def on_result(r) -> None:
            if writer is not None:
                writer.write(r)
            if args.quiet:
                for e in r.events:
                    console.event(e)
            else:
                console.update(r)

        try:
            summary = engine.run(replay.packets(), realtime=args.realtime, on_result=on_result,
                                 live_clock=getattr(replay, "now", None))
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        finally:
            console.finish()
        if writer is not None:
            writer.commit()
    print_summary(summary, backend.name, args.threads)
    if writer is not None:
        print(f"wrote {args.out} ({writer.rows} rows)")
    return 0


def cli(argv: list[str] | None = None) -> int:
    return run_tool("stream", main, argv)


if __name__ == "__main__":
    sys.exit(cli())
