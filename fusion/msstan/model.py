"""MS-STAN assembled from its blocks (paper Sections 3.3-3.4, Fig. 1).

Order of the blocks for a window of frames (B, T, H, W):

1. patch embedding of every frame (patch_embed.py) -> frame scores a_t (Eq. 40, frame_sampling.py);
   only the kept frames continue (Eq. 41: top-k at inference, Gumbel top-k in training);
2. conv + batch-norm stages -> spatial maps f_t (B, T', h, w, d) (Eq. 8);
3. occlusion mask m_t (Eq. 26) from f_t; background suppression f_fg = f - Phi_bg(f) (Eq. 29);
   f_final = m_t * f_fg (Eq. 31);
4. motion magnification (Eq. 33-35);
5. multi-scale temporal aggregation + scale attention + LayerNorm/residual (Eq. 9-12, 43);
6. spatial attention per frame (Eq. 13, 14, 17), plus the knowledge prior (Eq. 45-46) and the
   local-peak descriptor (our addition, ``spatial_peak``);
7. temporal attention (Eq. 15, 16, 18) biased by log a_t and log visibility (Eq. 28).

Tokens are the spatially attended frames projected to D plus a learned embedding of their frame
index (so dropped frames leave the time positions of the kept ones intact); pooled is their
temporal-attention weighted sum (Eq. 16 on the projected frames).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from weldfusion.datasets.info import DataInfo, ModalityShape
from weldfusion.fusion.encoder_base import Encoder
from weldfusion.fusion.msstan.background import BackgroundSuppression
from weldfusion.fusion.msstan.frame_sampling import FrameSampler
from weldfusion.fusion.msstan.knowledge import KnowledgePrior
from weldfusion.fusion.msstan.motion import MotionMagnification
from weldfusion.fusion.msstan.multiscale_temporal import MultiScaleTemporal
from weldfusion.fusion.msstan.occlusion import OcclusionMask
from weldfusion.fusion.msstan.patch_embed import ConvStages, PatchEmbed
from weldfusion.fusion.msstan.spatial_attention import SpatialAttention
from weldfusion.fusion.msstan.temporal_attention import TemporalAttention
from weldfusion.recipes.errors import InvalidInput


def temporal_consistency(f: Tensor) -> Tensor:
    """Eq. 48 per sample: ||f_t - f_{t+1}||^2 averaged over frame pairs and channels (0 for one frame).

    f: (B, T, d) -> (B,). Mean instead of sum keeps the term's scale independent of T and d.
    """
    if f.shape[1] < 2:
        return f.new_zeros(f.shape[0])
    return (f[:, 1:] - f[:, :-1]).pow(2).mean(dim=(1, 2))


#: MS-STAN components a trained core can run without (:meth:`MSSTAN.switch_off`); the others of
#: :data:`weldfusion.fusion.config.COMPONENTS` change the weights' shapes or exist only in training.
INFERENCE_COMPONENTS: tuple[str, ...] = (
    "adaptive_sampling", "knowledge_guidance", "motion_magnification", "occlusion_mask", "background_suppression",
    "spatial_attention", "spatial_peak", "temporal_attention",
)


class MSSTAN(nn.Module):
    """Multi-scale spatiotemporal attention network for one image modality.

    Args:
        frames: T, frames per window (sizes the frame-index embedding).
        out_dim: D, size of the output tokens and pooled vector.
        patch_size, stage_dims, stage_strides, temporal_scales: architecture (see MSSTANConfig).
        multiscale_temporal ... knowledge_guidance: component switches (see MSSTANConfig).
        keep_ratio: share of frames kept at inference by adaptive sampling.
        param_index: columns of ``params`` for the knowledge prior; n_pairs, pair_embed_dim: its
            material-pair embedding.
        gradient_channel: add the Sobel gradient magnitude as a second input channel.
        spatial_peak: add the projected spatial maximum to the attended frame vector.
        motion_gamma, motion_gamma_init: ``scalar`` (Eq. 33) or ``channel`` gamma, and its start value.
    """

    def __init__(
        self,
        frames: int,
        out_dim: int,
        patch_size: int = 4,
        stage_dims: tuple[int, ...] = (16, 48),
        stage_strides: tuple[int, ...] = (1, 2),
        temporal_scales: tuple[int, ...] = (1, 3, 5),
        multiscale_temporal: bool = True,
        separable_temporal: bool = True,
        spatial_attention: bool = True,
        temporal_attention: bool = True,
        occlusion_mask: bool = True,
        background_suppression: bool = True,
        motion_magnification: bool = True,
        adaptive_sampling: bool = True,
        keep_ratio: float = 0.5,
        knowledge_guidance: bool = True,
        param_index: tuple[int, ...] = (),
        n_pairs: int = 1,
        pair_embed_dim: int = 8,
        gradient_channel: bool = False,
        spatial_peak: bool = True,
        motion_gamma: str = "scalar",
        motion_gamma_init: float = 0.5,
    ) -> None:
        super().__init__()
        c0, d = stage_dims[0], stage_dims[-1]
        self.frames = frames
        self.patch_embed = PatchEmbed(patch_size, c0, gradient_channel)
        self.sampler = FrameSampler(c0, keep_ratio) if adaptive_sampling else None
        self.stages = ConvStages(c0, stage_dims, stage_strides)
        self.occlusion = OcclusionMask(d) if occlusion_mask else None
        self.background = BackgroundSuppression(d) if background_suppression else None
        self.motion = (MotionMagnification(motion_gamma_init, dim=d if motion_gamma == "channel" else None)
                       if motion_magnification else None)
        self.temporal = MultiScaleTemporal(d, temporal_scales, separable_temporal, multiscale_temporal)
        if knowledge_guidance and not param_index:
            raise InvalidInput("knowledge_guidance needs the columns of heat_input, current, travel_speed in params")
        self.knowledge = KnowledgePrior(d, param_index, n_pairs, pair_embed_dim) if knowledge_guidance else None
        self.spatial_attn = SpatialAttention(d, spatial_attention, spatial_peak)
        self.temporal_attn = TemporalAttention(d, temporal_attention)
        self.token_proj = nn.Linear(d, out_dim)
        self.time_embed = nn.Parameter(torch.randn(frames, out_dim) * 0.02)
        self.dim = d
        self.map_dims = (c0, d)  # channels of the two feature levels in ``maps``

    #: component -> (sub-block owning it or None for this core, attribute that is set to None to remove it)
    _KNOCKOUTS = {
        "adaptive_sampling": (None, "sampler"),  # all frames pass, no frame-score bias
        "knowledge_guidance": (None, "knowledge"),  # no prior in the spatial attention (Eq. 45)
        "motion_magnification": (None, "motion"),  # no Eq. 33-35
        "occlusion_mask": (None, "occlusion"),  # no mask, no visibility bias (Eq. 26-28)
        "background_suppression": (None, "background"),  # f_fg = f (Eq. 29)
        "spatial_attention": ("spatial_attn", "score"),  # uniform spatial weights
        "spatial_peak": ("spatial_attn", "peak"),  # attended vector without the spatial-max term
    }

    def switch_off(self, component: str) -> bool:
        """Run without ``component`` from now on (an inference knock-out of a trained core, no
        retraining); False when this core does not use it. ``component`` must be one of
        :data:`INFERENCE_COMPONENTS`."""
        if component == "temporal_attention":  # softmax of the priors alone (mean without priors)
            was = self.temporal_attn.enabled
            self.temporal_attn.enabled = False
            return was
        if component not in self._KNOCKOUTS:
            raise ValueError(f"{component!r} cannot be switched off at inference (these can: "
                             f"{', '.join(INFERENCE_COMPONENTS)})")
        owner, attr = self._KNOCKOUTS[component]
        target = getattr(self, owner) if owner else self
        if getattr(target, attr) is None:
            return False
        setattr(target, attr, None)
        return True

    def kept_frames(self) -> int:
        """Frames that go through the conv stages per window."""
        return self.sampler.kept(self.frames) if self.sampler is not None else self.frames

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:
        """x: (B, T, H, W) frames; params: (B, P); pair: (B,) long.

        Returns a dict:
            tokens (B, T', D), pooled (B, D), frame_index (B, T') (T' = kept frames);
            maps: the spatial feature levels of the kept frames for the localisation heads, finest
                first: patch embedding (B, T', h0, w0, c0) and temporally aggregated maps (B, T', h, w, d);
            attention: spatial (B, T', h, w), temporal (B, T'), scales (B, k), and when enabled
                occlusion (B, T', h, w), frame_scores (B, T);
            aux (unweighted, training mode only — inference skips their cost): temporal_consistency
                (B,) (Eq. 48), occlusion (B,) (Eq. 27), reconstruction (B,) (Eq. 30), smoothness (B,)
                (Eq. 42), sepconv_l1 () (Eq. 44).
        """
        b, t = x.shape[:2]
        if t != self.frames:
            raise ValueError(f"MS-STAN built for {self.frames} frames per window, got {t}")
        attention: dict[str, Tensor] = {}
        aux: dict[str, Tensor] = {}
        s = self.patch_embed(x)  # (B, T, h0, w0, c0)
        index = torch.arange(t, device=x.device).expand(b, t)
        bias = None
        if self.sampler is not None:
            scores = self.sampler(s)  # (B, T), Eq. 40
            attention["frame_scores"] = scores
            if self.training:
                aux["smoothness"] = FrameSampler.smoothness(scores)  # Eq. 42
            if self.sampler.kept(t) < t:
                index = self.sampler.select(scores, explore=self.training)  # (B, k), Eq. 41
                flat = (index + t * torch.arange(b, device=x.device)[:, None]).flatten()  # (B*k,)
                s = s.flatten(0, 1).index_select(0, flat).unflatten(0, index.shape)  # (B, k, h0, w0, c0)
                scores = torch.take_along_dim(scores, index, dim=1)
            bias = torch.log(scores.clamp_min(1e-4))
        f = self.stages(s)  # (B, T', h, w, d), Eq. 8

        if self.occlusion is not None:
            mask = self.occlusion(f)  # (B, T', h, w), Eq. 26
            attention["occlusion"] = mask
            if self.training:
                aux["occlusion"] = OcclusionMask.sparsity(mask)  # Eq. 27
            vis = OcclusionMask.visibility_bias(mask)  # Eq. 28
            bias = vis if bias is None else bias + vis
        if self.background is not None:
            f_fg, recon_error = self.background(f, with_error=self.training)  # Eq. 29-30
            if recon_error is not None:
                aux["reconstruction"] = recon_error
        else:
            f_fg = f
        f = f_fg * mask[..., None] if self.occlusion is not None else f_fg  # Eq. 31 / 26
        if self.motion is not None:
            f = self.motion(f)  # Eq. 33-35
        f, scale_w = self.temporal(f)  # Eq. 9-12
        maps = (s, f)
        attention["scales"] = scale_w
        if self.training and self.temporal.separable:
            aux["sepconv_l1"] = self.temporal.conv.l1()  # Eq. 44

        prior = self.knowledge(f, params, pair) if self.knowledge is not None else None  # Eq. 46
        alpha_s, f_att = self.spatial_attn(f, prior)  # (B, T', h, w), (B, T', d); Eq. 13-14, 17, 45
        alpha_t = self.temporal_attn(f_att, bias)  # (B, T'); Eq. 15, 18
        attention["spatial"] = alpha_s
        attention["temporal"] = alpha_t
        if self.training:
            aux["temporal_consistency"] = temporal_consistency(f_att)  # Eq. 48, (B,)

        tokens = self.token_proj(f_att) + self.time_embed[index]  # (B, T', D)
        pooled = torch.einsum("bt,btd->bd", alpha_t, tokens)  # Eq. 16 on the projected frames, (B, D)
        return {"tokens": tokens, "pooled": pooled, "frame_index": index, "maps": maps,
                "attention": attention, "aux": aux}


KNOWLEDGE_PARAMS: tuple[str, ...] = ("heat_input", "current", "travel_speed")


class MSSTANEncoder(Encoder):
    """An :class:`Encoder` for an image modality (B, T, H, W) built on :class:`MSSTAN`.

    ``config`` are the fields of :class:`~weldfusion.fusion.config.MSSTANConfig`; the frame
    count comes from the modality shape, the knowledge-prior inputs from ``info.params`` and
    ``info.pairs``.
    """

    def __init__(self, shape: ModalityShape, info: DataInfo, dim: int, **config) -> None:
        super().__init__(shape, info, dim)
        if shape.kind != "image" or len(shape.shape) != 3:
            raise ValueError(f"{shape.name}: MS-STAN needs image windows (T, H, W), got {shape.kind} {shape.shape}")
        param_index: tuple[int, ...] = ()
        if config.get("knowledge_guidance", True):
            missing = [p for p in KNOWLEDGE_PARAMS if p not in info.params]
            if missing:
                raise InvalidInput(f"{shape.name}: knowledge_guidance needs params {missing} "
                                 f"(data has {list(info.params)})")
            param_index = tuple(info.params.index(p) for p in KNOWLEDGE_PARAMS)
        self.frame_shape = tuple(shape.shape)
        self.net = MSSTAN(frames=shape.shape[0], out_dim=dim, param_index=param_index,
                          n_pairs=max(len(info.pairs), 1), **config)

    def forward(self, x: Tensor, params: Tensor, pair: Tensor) -> dict:
        """x: (B, T, H, W); params: (B, P); pair: (B,) -> see :meth:`MSSTAN.forward`."""
        if tuple(x.shape[1:]) != self.frame_shape:
            raise ValueError(f"{self.modality}: expected windows of shape {self.frame_shape}, got {tuple(x.shape[1:])}")
        out = self.net(x, params, pair)
        out["attention"]["frame_index"] = out.pop("frame_index")
        return out


def msstan_cores(model: nn.Module) -> dict[str, MSSTAN]:
    """modality -> the MS-STAN core of its encoder, for the image encoders built on MS-STAN."""
    out = {}
    encoders = getattr(model, "encoders", None)
    for name, enc in (encoders.items() if encoders is not None else ()):
        net = getattr(enc, "net", None)
        if isinstance(net, MSSTAN):
            out[name] = net
    return out
