"""Fused weights cached at inference follow every change of the parameters they come from."""

import torch
from weldfusion.fusion.msstan.multiscale_temporal import SeparableTemporalConv
from weldfusion.sensors.electrical.encoder import MultiScaleConv1d


def _reference_multiscale(m: MultiScaleConv1d, x):
    y = torch.cat([b(x) for b in m.branches], dim=1)
    return x + torch.nn.functional.gelu(m.bn(m.mix(y)))


def test_grouped_branches_equal_the_separate_ones_and_train():
    torch.manual_seed(0)
    m = MultiScaleConv1d(8, (3, 9, 27)).eval()
    x = torch.randn(3, 8, 50)
    with torch.inference_mode():
        torch.testing.assert_close(m(x), _reference_multiscale(m, x), atol=2e-6, rtol=1e-5)
    m.train()
    m(x).square().mean().backward()
    assert all(b.weight.grad is not None and b.weight.grad.abs().sum() > 0 for b in m.branches)


def test_cache_follows_optimiser_steps_and_loaded_weights():
    torch.manual_seed(1)
    conv = SeparableTemporalConv(6, (3, 5))
    f = torch.randn(2, 7, 2, 3, 6)
    with torch.no_grad():
        before = conv(f)
        assert torch.equal(conv(f), before)  # cached: the same result
    opt = torch.optim.SGD(conv.parameters(), lr=0.5)
    conv(f).square().mean().backward()  # grad enabled: built fresh, not cached
    opt.step()
    with torch.no_grad():
        after = conv(f)
    assert not torch.allclose(after, before)
    weight, bias = conv.fused_weight()
    expected = torch.nn.functional.conv2d(f.reshape(2, 7, 6, 6).permute(0, 3, 1, 2), weight, bias, padding=(2, 0))
    torch.testing.assert_close(after.flatten(), expected.reshape(2, 2, 6, 7, 6).permute(0, 1, 3, 4, 2).flatten())
    fresh = SeparableTemporalConv(6, (3, 5))
    with torch.inference_mode():
        stale = fresh(f)
    fresh.load_state_dict(conv.state_dict())
    with torch.inference_mode():
        torch.testing.assert_close(fresh(f), after)
        assert not torch.allclose(fresh(f), stale)
