"""MS-STAN blocks (paper Eq. 9-46): shapes, attention normalisation, frame sampling, ablations train."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_fixtures import random_batch, tiny_config, tiny_info, tiny_loss
from weldfusion.fusion.build import build_loss, build_model
from weldfusion.fusion.config import COMPONENTS, disable_component
from weldfusion.fusion.msstan import MSSTAN
from weldfusion.fusion.msstan.background import BackgroundSuppression
from weldfusion.fusion.msstan.frame_sampling import FrameSampler
from weldfusion.fusion.msstan.motion import MotionMagnification
from weldfusion.fusion.msstan.multiscale_temporal import MultiScaleTemporal, SeparableTemporalConv
from weldfusion.fusion.msstan.occlusion import OcclusionMask
from weldfusion.fusion.msstan.patch_embed import ConvStages, PatchEmbed
from weldfusion.fusion.msstan.spatial_attention import SpatialAttention
from weldfusion.fusion.msstan.temporal_attention import TemporalAttention

pytestmark = pytest.mark.usefixtures("single_thread")


def tiny_msstan_net(**kw) -> MSSTAN:
    args = dict(frames=6, out_dim=16, patch_size=4, stage_dims=(8, 12), stage_strides=(1, 2), temporal_scales=(1, 3),
                keep_ratio=0.5, param_index=(3, 0, 2), n_pairs=3, pair_embed_dim=4)
    return MSSTAN(**{**args, **kw})


def inputs(b=3, t=6, h=16, w=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, h, w, generator=g), torch.randn(b, 4, generator=g), torch.tensor([0, 1, 2][:b])


def test_patch_embed_and_stages_shapes_pad_odd_frames():
    pe = PatchEmbed(4, 8, gradient_channel=True)
    s = pe(torch.randn(2, 3, 14, 17))  # padded to 16 x 20
    assert s.shape == (2, 3, 4, 5, 8) and pe.grid(14, 17) == (4, 5)
    st = ConvStages(8, (8, 12), (1, 2))
    f = st(s)
    assert f.shape == (2, 3, *st.grid(4, 5), 12) == (2, 3, 2, 3, 12)


def test_patch_embed_native_kernel_path_is_the_conv():
    """With PyTorch's native CPU kernels (the live monitor's batch-1 choice) the patch projection runs
    as one matrix product over the patches: the same values as the conv, gradients included."""
    torch.manual_seed(0)
    pe = PatchEmbed(4, 8, gradient_channel=True)
    x = torch.randn(2, 3, 14, 17, requires_grad=True)  # padded frames too
    conv = pe(x)
    (g_conv,) = torch.autograd.grad(conv.square().sum(), x)
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        native = pe(x)
        (g_native,) = torch.autograd.grad(native.square().sum(), x)
    finally:
        torch.backends.mkldnn.enabled = before
    assert native.shape == conv.shape == (2, 3, 4, 5, 8)
    torch.testing.assert_close(native, conv, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g_native, g_conv, atol=1e-4, rtol=1e-4)


def test_msstan_shapes_train_and_eval():
    torch.manual_seed(0)
    net = tiny_msstan_net()
    x, params, pair = inputs()
    for training, kept in ((True, 3), (False, 3)):
        net.train(training)
        out = net(x, params, pair)
        assert out["tokens"].shape == (3, kept, 16) and out["pooled"].shape == (3, 16)
        att = out["attention"]
        assert att["spatial"].shape == (3, kept, 2, 2) and att["temporal"].shape == (3, kept)
        assert att["frame_scores"].shape == (3, 6) and out["frame_index"].shape == (3, kept)
        torch.testing.assert_close(att["spatial"].sum(dim=(2, 3)), torch.ones(3, kept))
        torch.testing.assert_close(att["temporal"].sum(dim=1), torch.ones(3))
        if training:
            assert set(out["aux"]) == {"smoothness", "occlusion", "reconstruction", "sepconv_l1",
                                       "temporal_consistency"}
            assert all(v.shape == (3,) for k, v in out["aux"].items() if k != "sepconv_l1")
        else:
            assert out["aux"] == {}  # auxiliary losses cost nothing at inference
    with pytest.raises(ValueError, match="6 frames"):
        net(x[:, :5], params, pair)


def test_adaptive_sampling_processes_fewer_frames_at_inference():
    """Only the kept frames reach the conv stages (the expensive part), in eval and training."""
    torch.manual_seed(0)
    x, params, pair = inputs()
    seen = []
    for sampling in (True, False):
        net = tiny_msstan_net(adaptive_sampling=sampling, keep_ratio=0.5).eval()
        hook = net.stages.register_forward_hook(lambda mod, args, out: seen.append(args[0].shape[1]))
        with torch.no_grad():
            out = net(x, params, pair)
        hook.remove()
        assert net.kept_frames() == seen[-1] == out["tokens"].shape[1]
    assert seen == [3, 6]
    # eval selection = top-k of the scores, in time order
    net = tiny_msstan_net().eval()
    with torch.no_grad():
        out = net(x, params, pair)
    scores, idx = out["attention"]["frame_scores"], out["frame_index"]
    assert torch.equal(idx, torch.sort(torch.topk(scores, 3, dim=1).indices, dim=1).values)


def test_frame_sampler_select_and_smoothness():
    fs = FrameSampler(4, keep_ratio=0.25)
    a = torch.tensor([[0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.4, 0.6]])
    assert fs.kept(8) == 2 and torch.equal(fs.select(a), torch.tensor([[1, 3]]))
    torch.manual_seed(0)
    draws = {tuple(fs.select(a, explore=True)[0].tolist()) for _ in range(30)}
    assert len(draws) > 1  # Gumbel top-k explores
    torch.testing.assert_close(FrameSampler.smoothness(torch.tensor([[0.0, 1.0, 1.0]])), torch.tensor([1.0]))
    assert FrameSampler(4, 0.01).kept(8) == 1


def test_separable_temporal_conv_equals_per_scale_depthwise_conv():
    torch.manual_seed(0)
    m = SeparableTemporalConv(6, (1, 3, 5))
    with torch.no_grad():  # biases start at zero: make them count, so the fused bias is checked too
        m.depthwise_bias.normal_()
        m.pointwise_bias.normal_()
    f = torch.randn(2, 7, 3, 4, 6)
    y = m(f)  # (B, k, T, h, w, d), run as one fused dense conv
    w = (m.depthwise * m.tap_mask).reshape(6, 3, 5)
    x = f.permute(0, 2, 3, 4, 1).reshape(-1, 6, 7)
    for j in range(3):
        ref = F.conv1d(x, w[:, j, None, :], m.depthwise_bias.reshape(6, 3)[:, j], padding=2, groups=6)
        ref = ref.reshape(2, 3, 4, 6, 7).permute(0, 4, 1, 2, 3) @ m.pointwise[j] + m.pointwise_bias[j]
        torch.testing.assert_close(y[:, j], ref)
    assert (w[:, 0, [0, 1, 3, 4]] == 0).all() and (w[:, 1, [0, 4]] == 0).all()  # taps outside tau stay zero
    assert m.l1() > 0
    y.sum().backward()  # the factorised parameters train through the fused weight
    assert m.depthwise.grad.abs().sum() > 0 and m.pointwise.grad.abs().sum() > 0


def test_sobel_magnitude_equals_the_3x3_kernels():
    from weldfusion.fusion.msstan.patch_embed import sobel_magnitude

    x = torch.randn(3, 1, 9, 13)
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), torch.stack([kx, kx.T])[:, None])
    torch.testing.assert_close(sobel_magnitude(x), torch.sqrt(g.pow(2).sum(1, keepdim=True) + 1e-12))
    ramp = torch.arange(8.0).expand(1, 1, 5, 8)  # slope 1 per pixel along W -> magnitude 1 inside
    torch.testing.assert_close(sobel_magnitude(ramp)[..., 1:-1], torch.full((1, 1, 5, 6), 1.0))


@pytest.mark.parametrize(("separable", "multiscale", "k"), [(True, True, 2), (False, True, 2), (True, False, 1)])
def test_multiscale_temporal_variants(separable, multiscale, k):
    m = MultiScaleTemporal(8, (1, 3), separable, multiscale)
    f = torch.randn(2, 5, 2, 3, 8)
    out, beta = m(f)
    assert out.shape == f.shape and beta.shape == (2, k)
    torch.testing.assert_close(beta.sum(1), torch.ones(2))
    assert hasattr(m.conv, "l1") == separable


def test_spatial_and_temporal_attention_normalised():
    f = torch.randn(2, 4, 3, 5, 8)
    for enabled in (True, False):
        alpha, att = SpatialAttention(8, enabled)(f)
        torch.testing.assert_close(alpha.sum(dim=(2, 3)), torch.ones(2, 4))
        assert att.shape == (2, 4, 8)
        prior = torch.softmax(torch.randn(2, 4, 15), -1).reshape(2, 4, 3, 5)
        alpha, _ = SpatialAttention(8, enabled)(f, prior)
        torch.testing.assert_close(alpha.sum(dim=(2, 3)), torch.ones(2, 4))
    uniform, _ = SpatialAttention(8, False)(f)
    assert torch.allclose(uniform, torch.full_like(uniform, 1 / 15))
    seq = torch.randn(2, 4, 8)
    bias = torch.tensor([[0.0, -1e4, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    alpha = TemporalAttention(8, enabled=False)(seq, bias)
    torch.testing.assert_close(alpha[1], torch.full((4,), 0.25))
    assert alpha[0, 1] < 1e-6
    torch.testing.assert_close(TemporalAttention(8)(seq).sum(1), torch.ones(2))


def test_motion_magnification_static_and_moving():
    mm = MotionMagnification(gamma=0.5)
    static = torch.randn(1, 1, 2, 2, 3).expand(1, 4, 2, 2, 3).contiguous()
    torch.testing.assert_close(mm(static), static)  # no motion -> unchanged
    held = static.clone().requires_grad_(True)  # held / gap frames: gradients stay finite
    mm(held).sum().backward()
    assert torch.isfinite(held.grad).all() and torch.isfinite(mm.gamma.grad)
    f = torch.zeros(1, 2, 1, 1, 4)
    f[:, 1] = 1.0
    out = mm(f)
    torch.testing.assert_close(out[:, 0], f[:, 0])
    assert torch.allclose(out[:, 1], torch.full((1, 1, 1, 4), 1.0 + 0.5 / (1.0 + 1e-2)))


def test_motion_magnification_per_channel_gamma():
    mm = MotionMagnification(gamma=0.0, dim=4)
    assert mm.gamma.shape == (4,)
    f = torch.zeros(1, 2, 1, 1, 4)
    f[:, 1] = 1.0
    torch.testing.assert_close(mm(f), f)  # gamma 0: starts as the identity
    (mm(f) * torch.tensor([1.0, 0.0, 0.0, 0.0])).sum().backward()
    assert mm.gamma.grad[0] > 0 and (mm.gamma.grad[1:] == 0).all()  # each channel learns its own gamma
    with torch.no_grad():
        mm.gamma.copy_(torch.tensor([0.0, 1.0, 0.0, 2.0]))
    step = 1.0 / (1.0 + 1e-2)
    torch.testing.assert_close(mm(f)[0, 1, 0, 0], torch.tensor([1.0, 1.0 + step, 1.0, 1.0 + 2 * step]))


def test_occlusion_and_background_terms():
    occ = OcclusionMask(8)
    f = torch.randn(2, 3, 2, 2, 8)
    m = occ(f)
    assert m.shape == (2, 3, 2, 2) and ((m >= 0) & (m <= 1)).all()
    torch.testing.assert_close(OcclusionMask.sparsity(torch.ones(2, 3, 2, 2)), torch.zeros(2))
    assert OcclusionMask.visibility_bias(m).shape == (2, 3)
    bg = BackgroundSuppression(8)
    fg, err = bg(f)
    assert fg.shape == f.shape and err.shape == (2,)
    with torch.no_grad():  # Phi_fg = identity reconstructs exactly (Eq. 30 = 0)
        bg.foreground.weight.copy_(torch.eye(8))
        bg.foreground.bias.zero_()
    torch.testing.assert_close(bg(f)[1], torch.zeros(2), atol=1e-6, rtol=0)


def test_knowledge_guidance_uses_params_and_pair():
    torch.manual_seed(0)
    net = tiny_msstan_net(adaptive_sampling=False).eval()
    x, params, pair = inputs()
    with torch.no_grad():
        a = net(x, params, pair)["attention"]["spatial"]
        b = net(x, params + 1.0, pair)["attention"]["spatial"]
        c = net(x, params, (pair + 1) % 3)["attention"]["spatial"]
        voltage = params.clone().index_fill_(1, torch.tensor([1]), 5.0)  # column 1 (voltage) is not a prior input
        d = net(x, voltage, pair)["attention"]["spatial"]
    assert not torch.allclose(a, b) and not torch.allclose(a, c)
    torch.testing.assert_close(a, d)
    off = tiny_msstan_net(knowledge_guidance=False).eval()
    with torch.no_grad():
        torch.testing.assert_close(off(x, params, pair)["tokens"], off(x, params + 1.0, pair)["tokens"])


def _train_losses(cfg, loss_cfg, info, steps=6):
    torch.manual_seed(0)
    model = build_model(cfg, info)
    loss_fn = build_loss(loss_cfg, info)
    batch = random_batch(info, 6, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def total():
        torch.manual_seed(123)  # same frame draws each time
        return loss_fn(model(batch), batch)["total"]

    first = total().item()
    for _ in range(steps):
        opt.zero_grad()
        total().backward()
        opt.step()
    return first, total().item()


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_each_component_switched_off_still_trains(component):
    info = tiny_info(names=("video", "electrical"))
    cfg, loss_cfg = disable_component(tiny_config(), tiny_loss(), component)
    first, last = _train_losses(cfg, loss_cfg, info)
    assert last < first
