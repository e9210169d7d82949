"""Typed settings of the comparison networks (the ``model.baselines`` section of a recipe).

Which network a recipe trains is ``model.arch`` (:class:`~weldfusion.fusion.config.ModelConfig`):
``msstan`` (the fusion model) or one of :data:`BASELINE_ARCHS`. The shared ``model`` keys
``dim``, ``head_dropout``, ``projection_dim`` and ``modality_dropout`` apply to the baselines too;
everything specific to one baseline lives in its section here, e.g.::

    model:
      arch: transformer
      baselines:
        transformer: {layers: 4, heads: 4, video_tubelet: [2, 8, 8]}
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASELINE_ARCHS: tuple[str, ...] = ("r2plus1d18", "cnn_lstm", "transformer")


@dataclass
class R2Plus1DConfig:
    """torchvision's R(2+1)D-18 (Tran et al. 2018) on the video window, trained from scratch.

    The grey clip (B, T, H, W) enters a stem whose first (2+1)D spatial convolution takes one
    channel instead of RGB (same kernel, stride and width as torchvision's stem).

    Attributes:
        dropout: dropout on the 512-d pooled clip feature before the heads (``model.head_dropout``
            is used when ``None``).
    """

    dropout: float | None = None

    def __post_init__(self) -> None:
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass
class CNNLSTMConfig:
    """Per-frame 2-D CNN + LSTM + temporal attention (the classic CNN+LSTM+Attention recogniser).

    Video (and thermal) frames go through a small 2-D CNN each; acoustic and electrical windows
    through small strided 1-D CNNs. Every modality becomes a sequence of ``steps`` feature vectors
    (linear interpolation in time), the sequences are concatenated per step and read by an LSTM;
    additive attention over the LSTM outputs gives the window vector.

    Attributes:
        frame_channels: channels of the stride-2 conv + batch-norm + ReLU blocks of the frame CNN.
        signal_channels: channels of the stride-4 1-D conv blocks of the signal CNNs.
        steps: time steps of the LSTM (``None``: the frame count of the longest image modality).
        hidden: LSTM hidden size.
        layers: stacked LSTM layers.
        bidirectional: read the sequence in both directions.
        use_thermal, use_acoustic, use_electrical: feed that modality (video is always used).
    """

    frame_channels: tuple[int, ...] = (16, 32, 64, 64)
    signal_channels: tuple[int, ...] = (16, 32, 64)
    steps: int | None = None
    hidden: int = 128
    layers: int = 1
    bidirectional: bool = False
    use_thermal: bool = True
    use_acoustic: bool = True
    use_electrical: bool = True

    def __post_init__(self) -> None:
        if not self.frame_channels or not self.signal_channels:
            raise ValueError("frame_channels and signal_channels must not be empty")
        if any(c < 1 for c in (*self.frame_channels, *self.signal_channels)):
            raise ValueError("channel counts must be positive")
        if self.hidden < 1 or self.layers < 1 or (self.steps is not None and self.steps < 1):
            raise ValueError("hidden, layers and steps must be positive")


@dataclass
class TransformerBaselineConfig:
    """Plain transformer fusion: linear patch/segment tokens of every modality, one standard
    ``nn.TransformerEncoder`` over all of them with a class token (no MS-STAN components).

    Attributes:
        layers, heads: encoder layers and attention heads (``model.dim`` must divide by ``heads``).
        ff_mult: feed-forward width as a multiple of ``model.dim``.
        dropout: dropout inside the encoder layers.
        video_tubelet, thermal_tubelet: (frames, rows, cols) of one image token (ViViT tubelets);
            clip sizes that are not multiples are cut at the end.
        signal_token_ms: duration of one acoustic / electrical token (all channels of the segment).
    """

    layers: int = 4
    heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1
    video_tubelet: tuple[int, int, int] = (2, 8, 8)
    thermal_tubelet: tuple[int, int, int] = (2, 8, 8)
    signal_token_ms: float = 20.0

    def __post_init__(self) -> None:
        if self.layers < 1 or self.heads < 1 or self.ff_mult < 1:
            raise ValueError("layers, heads and ff_mult must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if min(self.video_tubelet) < 1 or min(self.thermal_tubelet) < 1 or self.signal_token_ms <= 0:
            raise ValueError("tubelet sizes and signal_token_ms must be positive")


@dataclass
class BaselinesConfig:
    """One section per comparison network (only the one named by ``model.arch`` is read)."""

    r2plus1d18: R2Plus1DConfig = field(default_factory=R2Plus1DConfig)
    cnn_lstm: CNNLSTMConfig = field(default_factory=CNNLSTMConfig)
    transformer: TransformerBaselineConfig = field(default_factory=TransformerBaselineConfig)
