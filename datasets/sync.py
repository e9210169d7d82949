"""Clock-offset estimation between the streams of a manifest, from shared physical events.

Arc ignition and extinction and (GMAW) short circuits show up in every sensor at once: arc power
``|U * I|`` from the power source, mean brightness of the camera, mean temperature of the IR
camera, RMS of the sound. Each stream becomes an *activity* series on its own clock (block means
for streams faster than ``envelope_rate``, per-frame means interpolated otherwise) on a common
grid of ``envelope_rate`` Hz, smoothed to the slower stream's sample period of the pair, with its
dropouts (manifest ``gaps``) left out.

Against the reference, candidate feature pairs are scored at every lag up to ``max_offset_s``
(``scipy.signal.correlate``, normalised): levels, edges ``|d/dt|``, and for sound its energy
against the reference's edges (arc sound follows dP/dt). Temperature lags the power (thermal
inertia), which would bias any correlation; a thermal stream is instead fitted, lag by lag, as a
non-negative mix of the other stream's level (glare) and its first-order lags (heating), a causal
response that cannot pass for a time shift. The most confident candidate wins; its peak is
refined below one grid step by parabolic interpolation.

Friction stir welds have no arc: the FSW machine's activity is its spindle power (``sensors/fsw_machine/sync.py``).

``offset_s`` is the stream's ``time_offset_s`` on the reference's recording clock: the reference's
own ``time_offset_s`` plus the lag. ``confidence`` (0..1) is the peak's normalised score times its
prominence margin over the runner-up peak: near 0 means another lag fits about as well (periodic
events, or no shared events).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.optimize import nnls
from scipy.signal import correlate, correlation_lags, find_peaks, lfilter
from tqdm import tqdm
from weldfusion.datasets.ingest import open_source
from weldfusion.datasets.manifest import Manifest
from weldfusion.sensors.raw_source import IngestError, RawSource
from weldfusion.sensors.registry import get as get_modality
from weldfusion.sensors.registry import params_sensors
from weldfusion.sensors.registry import part as sensor_part

#: Default rate (Hz) of the common event envelope.
ENVELOPE_RATE = 1000.0
#: Default largest clock offset searched (s).
MAX_OFFSET_S = 2.0
#: Time constants (s) of the first-order lags that, mixed, model how temperature follows arc power.
THERMAL_LAGS_S = tuple(float(f"{t:.3g}") for t in np.geomspace(0.01, 1.0, 9))


@dataclass(frozen=True)
class Envelope:
    """An activity series on a regular own-clock grid: ``values[k]`` at ``t0 + k / rate``."""

    name: str
    t0: float
    rate: float
    values: np.ndarray  # (M,) float64
    sample_rate: float  # the stream's own sample rate (Hz)
    gaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (G, 2) own-clock dropouts (s)

    def valid(self, pad_s: float = 0.0) -> np.ndarray:
        """(M,) bool: grid steps at least ``pad_s`` away from every gap."""
        centres = self.t0 + (np.arange(len(self.values)) + 0.5) / self.rate
        ok = np.ones(len(centres), dtype=bool)
        for g0, g1 in self.gaps:
            ok &= ~((centres >= g0 - pad_s) & (centres < g1 + pad_s))
        return ok


@dataclass(frozen=True)
class SyncResult:
    """Estimated offset of one stream (``offset_s`` is its manifest ``time_offset_s``)."""

    stream: str
    offset_s: float
    lag_s: float
    confidence: float
    feature: str

    def to_json(self) -> dict:
        return {"offset_s": self.offset_s, "confidence": self.confidence, "lag_s": self.lag_s,
                "feature": self.feature}


def _trait(name: str, key: str, default: str) -> str:
    """A sync trait a sensor declares in ``sensors/<name>/sync.py`` (``BINNED``, ``FOLLOWS``)."""
    feature = sensor_part(name, "sync")
    return getattr(feature, key, default) if feature is not None else default


def _reduce(name: str, source: RawSource, block: np.ndarray) -> np.ndarray:
    """Per-sample activity (k,) float64 of one block: the sensor's own ``activity`` when its
    ``sync.py`` declares one (process data: arc power), else the mean value of frames or the energy of signals."""
    feature = sensor_part(name, "sync")
    if feature is not None and hasattr(feature, "activity"):
        return feature.activity(block, source.channel_names or (), str(source.path))
    b = block.reshape(len(block), -1).astype(np.float64)
    return b.mean(axis=1) if block.ndim >= 3 or get_modality(name).kind == "image" else (b * b).sum(axis=1)


def activity_envelope(name: str, source: RawSource, rate: float = ENVELOPE_RATE, progress: bool = False,
                      gaps=None) -> Envelope:
    """Stream ``name`` as an activity series on a grid of ``rate`` Hz (own clock), read block by block.

    Streams faster than ``rate`` are averaged per grid bin ``[t0 + k / rate, t0 + (k + 1) / rate)``
    (sound: root of the mean energy); slower ones are linearly interpolated at the bin centres.
    ``gaps`` (G, 2) are the stream's dropouts on its own clock: they are left out of the correlation.
    """
    sums: np.ndarray = np.zeros(0)
    counts: np.ndarray = np.zeros(0)
    times: list[np.ndarray] = []
    values: list[np.ndarray] = []
    fast = bool(source.rate and source.rate >= rate)
    t0 = None
    with tqdm(total=source.n, desc=f"sync {name}", disable=not progress, leave=False) as bar:
        for block, t in source.blocks_with_times():
            act = _reduce(name, source, block)
            if t0 is None and len(t):
                t0 = math.floor(float(t[0]) * rate) / rate
            if fast:
                idx = np.floor((t - t0) * rate).astype(np.int64)
                size = int(idx[-1]) + 1
                if size > len(sums):
                    sums = np.pad(sums, (0, size - len(sums)))
                    counts = np.pad(counts, (0, size - len(counts)))
                sums += np.bincount(idx, act, minlength=len(sums))[: len(sums)]
                counts += np.bincount(idx, minlength=len(counts))[: len(counts)]
            else:
                times.append(np.asarray(t, dtype=np.float64))
                values.append(act)
            bar.update(len(block))
    if t0 is None:
        raise IngestError(f"{source.path}: no samples to synchronise")
    if fast:
        filled = counts > 0
        env = np.interp(np.arange(len(sums)), np.flatnonzero(filled), sums[filled] / counts[filled])
        if _trait(name, "BINNED", "mean") == "rms":
            env = np.sqrt(env)
    else:
        t_all, v_all = np.concatenate(times), np.concatenate(values)
        m = max(1, int(math.floor((t_all[-1] - t0) * rate)) + 1)
        env = np.interp(t0 + (np.arange(m) + 0.5) / rate, t_all, v_all)
    gaps = np.asarray(gaps if gaps is not None else [], dtype=np.float64).reshape(-1, 2)
    return Envelope(name, float(t0), float(rate), env.astype(np.float64), float(source.rate or rate), gaps)


def _features(env: Envelope, width: int) -> dict[str, np.ndarray]:
    """Standardised level and edge strength ``|d/dt|`` of the envelope smoothed over ``width`` steps.

    Gaps are bridged linearly before smoothing and set to 0 (no evidence) afterwards, together with
    a margin of ``width + 2`` steps, so a dropout makes no edges of its own.
    """
    values = env.values
    if len(env.gaps):
        inside = ~env.valid()
        if inside.all():
            raise IngestError(f"stream {env.name!r}: nothing outside its gaps to synchronise")
        k = np.arange(len(values))
        values = values.copy()
        values[inside] = np.interp(k[inside], k[~inside], values[~inside])
    keep = env.valid(pad_s=(width + 2) / env.rate)
    smooth = uniform_filter1d(values, width, mode="nearest") if width > 1 else values
    out = {}
    for key, x in (("level", smooth), ("edge", np.abs(np.gradient(smooth)))):
        x = np.where(keep, x - x[keep].mean(), 0.0)
        norm = np.linalg.norm(x)
        out[key] = x / norm if norm > 0 else x
    return out


def _peak(corr: np.ndarray) -> tuple[int, float, float]:
    """(index of the highest peak, its sub-step shift, confidence).

    Confidence = peak height x (1 - prominence of the runner-up peak / prominence of this peak).
    """
    i = int(np.argmax(corr))
    shift = 0.0
    if 0 < i < len(corr) - 1:
        a, b, c = corr[i - 1], corr[i], corr[i + 1]
        denom = a - 2 * b + c
        if denom < 0:
            shift = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))
    floor = float(corr.min()) - 1e-9
    padded = np.concatenate([[floor], corr, [floor]])  # the ends may hold a peak too
    peaks, props = find_peaks(padded, prominence=0.0)
    prominences = props["prominences"]
    mine = peaks == i + 1
    top = float(prominences[mine][0]) if np.any(mine) else 0.0
    others = prominences[~mine]
    runner_up = float(others.max()) if len(others) else 0.0
    height = max(float(corr[i]), 0.0)
    confidence = height * (1.0 - runner_up / top) if top > 0 else 0.0
    return i, shift, float(np.clip(confidence, 0.0, 1.0))


def _lagged(x: np.ndarray, tau_s: float, rate: float) -> np.ndarray:
    """Causal first-order lag (time constant ``tau_s``) of a standardised series, re-standardised."""
    a = math.exp(-1.0 / (tau_s * rate))
    y = lfilter([1.0 - a], [1.0, -a], x - x[0])
    y = y - y.mean()
    norm = np.linalg.norm(y)
    return y / norm if norm > 0 else y


def _xcorr(x_r: np.ndarray, x_s: np.ndarray) -> np.ndarray:
    return correlate(x_r, x_s, mode="full", method="fft")


def _response_fit(driver: np.ndarray, response: np.ndarray, rate: float, keep: np.ndarray,
                  response_is_reference: bool) -> np.ndarray:
    """Multiple correlation, at every kept lag, of ``response`` with a non-negative mix of ``driver``
    (instant: arc glare) and its first-order lags (:data:`THERMAL_LAGS_S`: heating with thermal inertia).

    Any such mix is a causal impulse response that decays from its start, so it cannot pass for a
    shift in time: the best-fitting lag is the clock offset. Solved per lag as a small NNLS problem
    in correlation form (``min_w |response - R w|^2``, ``w >= 0``, ``R`` the unit regressors).
    """
    regs = np.stack([driver] + [_lagged(driver, tau, rate) for tau in THERMAL_LAGS_S])  # (K, M)
    gram = regs @ regs.T  # (K, K)
    chol = np.linalg.cholesky(gram + 1e-9 * np.eye(len(gram)))
    chol_inv = np.linalg.inv(chol)
    if response_is_reference:
        corr = np.stack([_xcorr(response, r)[keep] for r in regs])  # (K, lags)
    else:
        corr = np.stack([_xcorr(r, response)[keep] for r in regs])  # (K, lags)
    score = np.empty(corr.shape[1])
    for j in range(corr.shape[1]):
        c = corr[:, j]
        w, _ = nnls(chol.T, chol_inv @ c)
        score[j] = 2.0 * c @ w - w @ gram @ w  # explained share of the unit response
    return np.sqrt(np.maximum(score, 0.0))


def _candidates(stream: Envelope, reference: Envelope, width: int, keep: np.ndarray):
    """``(feature name, score over the kept lags)`` of the candidate feature pairs.

    Scores are normalised cross-correlations (1 = identical shape). Levels and edges are compared;
    a stream that follows the other's edges (``FOLLOWS = "edge"`` in its ``sync.py``: sound, since
    arc sound follows dP/dt) also with those edges. A stream that follows the other's level with a
    lag (``FOLLOWS = "lagged level"``: temperature, glare + thermal inertia) is instead fitted as
    that response (:func:`_response_fit`): a plain correlation would be biased by the lag of the heating.
    """
    fs, fr = _features(stream, width), _features(reference, width)
    s_follows = _trait(stream.name, "FOLLOWS", "level")
    r_follows = _trait(reference.name, "FOLLOWS", "level")
    if "lagged level" in (s_follows, r_follows) and s_follows != r_follows:
        if s_follows == "lagged level":
            yield "thermal response", _response_fit(fr["level"], fs["level"], reference.rate, keep, False)
        else:
            yield "thermal response", _response_fit(fs["level"], fr["level"], stream.rate, keep, True)
        return
    yield "level/level", _xcorr(fr["level"], fs["level"])[keep]
    yield "edge/edge", _xcorr(fr["edge"], fs["edge"])[keep]
    if s_follows == "edge":
        yield "level/edge", _xcorr(fr["edge"], fs["level"])[keep]
    if r_follows == "edge":
        yield "edge/level", _xcorr(fr["level"], fs["edge"])[keep]


def estimate_lag(stream: Envelope, reference: Envelope, max_offset_s: float = MAX_OFFSET_S
                 ) -> tuple[float, float, str]:
    """``(lag_s, confidence, feature)`` with ``stream`` own time + lag = reference own time of the same event.

    Both envelopes must share the grid rate. Of the candidate feature pairs the most confident wins.
    """
    if stream.rate != reference.rate:
        raise ValueError("envelopes must share one grid rate")
    rate = reference.rate
    slow = min(stream.sample_rate, reference.sample_rate)
    width = max(1, int(round(rate / slow)))
    best = (-1.0, 0.0, "")  # (confidence, lag, feature)
    base = reference.t0 - stream.t0
    # corr[L] = sum_n x_r[n + L] x_s[n]: x_r[n + L] ~ x_s[n]  <=>  lag = t0_r - t0_s + L / rate
    lags = correlation_lags(len(reference.values), len(stream.values), mode="full")
    keep = np.abs(base + lags / rate) <= max_offset_s + 0.5 / rate
    if not np.any(keep):
        raise IngestError(f"streams {stream.name!r} and {reference.name!r} do not overlap within "
                          f"+-{max_offset_s:g} s; raise --max-offset")
    lags = lags[keep]
    for feature, score in _candidates(stream, reference, width, keep):
        i, shift, confidence = _peak(score)
        if confidence > best[0]:
            best = (confidence, base + (lags[i] + shift) / rate, feature)
    return best[1], best[0], best[2]


def estimate_offsets(
    manifest: Manifest,
    reference: str | None = None,
    *,
    envelope_rate: float = ENVELOPE_RATE,
    max_offset_s: float = MAX_OFFSET_S,
    progress: bool = True,
) -> dict[str, SyncResult]:
    """Offsets (manifest ``time_offset_s``) of every stream so that it lines up with ``reference``.

    The reference keeps its own ``time_offset_s`` (confidence 1). ``reference=None``: the stream of
    the sensor that provides the window parameters (the process data), else the manifest's first.
    """
    if reference is None:
        provider = next((p for p in params_sensors() if p in manifest.streams and sensor_part(p, "sync") is not None), None)
        reference = provider if provider is not None else next(iter(manifest.streams))
    if reference not in manifest.streams:
        raise IngestError(f"{manifest.path}: reference stream {reference!r} is not in the manifest "
                          f"(streams: {', '.join(manifest.streams)})")
    envelopes = {name: activity_envelope(name, open_source(manifest, name), envelope_rate, progress,
                                         manifest.streams[name].gaps)
                 for name in manifest.streams}
    ref_offset = manifest.streams[reference].time_offset_s
    results = {reference: SyncResult(reference, float(ref_offset), 0.0, 1.0, "reference")}
    for name, env in envelopes.items():
        if name == reference:
            continue
        lag, confidence, feature = estimate_lag(env, envelopes[reference], max_offset_s)
        results[name] = SyncResult(name, float(ref_offset + lag), float(lag), float(confidence), feature)
    return results
