"""The localisation heads on MS-STAN's maps: shapes, rows, loss terms, learning, switches, scoring."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from model_fixtures import random_batch, tiny_config, tiny_info, tiny_loss
from weldfusion.fusion.build import build_loss, build_model
from weldfusion.fusion.config import LocalisationConfig
from weldfusion.recipes.config import ConfigError
from weldfusion.sensors.boxes import CLASSES
from weldfusion.tools.training.localisation import LocalisationScorer

LOC = LocalisationConfig(detection=True, motion=True, queries=4, decoder_layers=1, decoder_heads=2, head_dim=16)


def _targets(batch: dict, info, seed: int = 0) -> dict:
    """Box and motion targets for every video frame: one pool box per frame, drifting, and a motion blob."""
    t, h, w = info.modality("video").shape
    b = batch["video"].shape[0]
    boxes = torch.full((b, t, 3, 5), -1.0)
    cx = 0.3 + 0.4 * torch.arange(t) / t
    boxes[:, :, 0] = torch.stack([torch.full((t,), 1.0), cx.expand(b, t)[0], torch.full((t,), 0.5),
                                  torch.full((t,), 0.3), torch.full((t,), 0.2)], -1)
    motion = torch.zeros(b, t, h, w, dtype=torch.uint8)
    motion[:, :, : h // 2, : w // 2] = 1
    return {**batch, "video_boxes": boxes, "video_motion": motion,
            "video_has_boxes": torch.ones(b, dtype=torch.bool), "video_has_motion": torch.ones(b, dtype=torch.bool)}


def test_heads_predict_per_kept_frame_for_the_present_rows_only():
    info = tiny_info()
    model = build_model(tiny_config(localisation=LOC), info).train()
    present = torch.ones(5, 4, dtype=torch.bool)
    present[[1, 3], 0] = False  # no video in rows 1 and 3
    out = model(_targets(random_batch(info, 5, present=present), info))["localisation"]["video"]
    kept = model.encoders["video"].net.kept_frames()
    assert out["rows"].tolist() == [0, 2, 4] and out["frame_index"].shape == (3, kept)
    assert out["det_logits"].shape == (3, kept, 4, len(CLASSES) + 1) and out["det_boxes"].shape == (3, kept, 4, 4)
    assert ((out["det_boxes"] >= 0) & (out["det_boxes"] <= 1)).all()
    assert out["motion_logits"].shape == (3, kept, *info.modality("video").shape[1:])
    model.eval()
    with torch.no_grad():
        res = model(random_batch(info, 2))
    evaluated = res["localisation"]["video"]
    assert "motion_logits" not in evaluated  # the motion head is auxiliary
    strongest = res["attention"]["video"]["temporal"].argmax(1)  # eval: the strongest kept frame only
    want = torch.take_along_dim(res["attention"]["video"]["frame_index"], strongest[:, None], 1)
    assert evaluated["det_logits"].shape[1] == 1 and torch.equal(evaluated["frame_index"], want)
    from weldfusion.tools.training.localisation import every_frame

    with every_frame(model, "video", motion=True), torch.no_grad():
        evaluated = model(random_batch(info, 2))["localisation"]["video"]
    assert evaluated["det_logits"].shape[1] == kept and "motion_logits" in evaluated
    assert not model.localisation["video"].all_frames  # restored


def test_loss_terms_named_weighted_and_absent_without_the_heads():
    info = tiny_info()
    batch = _targets(random_batch(info, 4), info)
    model = build_model(tiny_config(localisation=LOC), info).train()
    terms = build_loss(tiny_loss(), info, LOC)(model(batch), batch)
    for k in ("det_class", "det_l1", "det_giou", "motion"):
        assert torch.isfinite(terms[k]) and terms[k] > 0
    plain = build_model(tiny_config(), info).train()
    assert not {"det_class", "motion"} & set(build_loss(tiny_loss(), info)(plain(batch), batch))
    no_truth = {**batch, "video_has_boxes": torch.zeros(4, dtype=torch.bool)}
    terms = build_loss(tiny_loss(), info, LOC)(model(no_truth), no_truth)
    assert float(terms["det_l1"].detach()) == 0.0  # recordings without truth add nothing


def test_the_heads_learn_boxes_and_motion():
    torch.manual_seed(0)
    info = tiny_info(names=("video", "electrical"))
    cfg = tiny_config(localisation=dataclasses.replace(LOC, queries=3), modality_heads=False)
    model = build_model(cfg, info).train()
    loss = build_loss(tiny_loss(contrastive=False, semantic_similarity=False), info, cfg.localisation)
    batch = _targets(random_batch(info, 8), info)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    first = None
    for _ in range(40):
        terms = loss(model(batch), batch)
        first = first or {k: float(terms[k].detach()) for k in ("det_l1", "det_giou", "motion")}
        opt.zero_grad()
        (terms["det_class"] + 5 * terms["det_l1"] + 2 * terms["det_giou"] + terms["motion"]).backward()
        opt.step()
    assert float(terms["det_l1"].detach()) < 0.3 * first["det_l1"] and float(terms["motion"].detach()) < 0.5 * first["motion"]


def test_scorer_gives_ap_one_for_perfect_boxes_and_iou_one_for_perfect_masks():
    info = tiny_info()
    model = build_model(tiny_config(localisation=LOC), info).eval()
    batch = _targets(random_batch(info, 3), info)
    with torch.no_grad():
        out = model(batch)
    pred = out["localisation"]["video"]
    fi, rows = pred["frame_index"], pred["rows"]
    from weldfusion.fusion.localisation import select_frames

    truth = select_frames(batch["video_boxes"], rows, fi)  # (B, T', 3, 5)
    logits = torch.full_like(pred["det_logits"], -10.0)
    logits[..., -1] = 10.0  # "no object" everywhere ...
    logits[:, :, 0, 1], logits[:, :, 0, -1] = 10.0, -10.0  # ... but query 0: the pool
    boxes = pred["det_boxes"].clone()
    boxes[:, :, 0] = truth[:, :, 0, 1:]
    motion = select_frames(batch["video_motion"], rows, fi).float() * 20 - 10
    scorer = LocalisationScorer("video", CLASSES)
    scorer(batch, {"localisation": {"video": {**pred, "det_logits": logits, "det_boxes": boxes, "motion_logits": motion}}})
    m = scorer.metrics()
    assert m["localisation"]["ap50"]["pool"] == pytest.approx(1.0) and m["localisation"]["map"] == pytest.approx(1.0)
    assert set(m["localisation"]["ap50"]) == {"pool"} and m["localisation"]["frames"] == 3 * fi.shape[1]
    assert m["motion_segmentation"]["iou"] == pytest.approx(1.0)
    shifted = boxes.clone()
    shifted[:, :, 0, 0] += 0.3  # a box beside its object: no hit
    scorer = LocalisationScorer("video", CLASSES)
    scorer(batch, {"localisation": {"video": {**pred, "det_logits": logits, "det_boxes": shifted}}})
    assert scorer.metrics()["localisation"]["ap50"]["pool"] == pytest.approx(0.0)


def test_localisation_config_errors():
    from weldfusion.recipes.tree import recipe_from_dict

    info = tiny_info(names=("acoustic", "electrical"))
    with pytest.raises(ConfigError, match="not an image modality with an MS-STAN encoder"):
        build_model(tiny_config(localisation=LOC), info)
    with pytest.raises(ConfigError, match="set data.localisation"):
        recipe_from_dict({"model": {"localisation": {"detection": True}}})
    with pytest.raises(ConfigError, match="rate_jitter"):
        recipe_from_dict({"data": {"localisation": ["video"]}, "model": {"localisation": {"motion": True}},
                          "train": {"rate_jitter": {"prob": 0.5, "modalities": ["video"]}}})
    with pytest.raises(ConfigError, match="head_dim"):
        recipe_from_dict({"model": {"localisation": {"head_dim": 10, "decoder_heads": 4}}})


def test_static_shape_model_predicts_every_row_flagged_by_presence():
    """skip_absent off (the export layout): a prediction for every row, valid where video is present,
    and the loss of the absent rows is not counted."""
    info = tiny_info()
    model = build_model(tiny_config(localisation=LOC, skip_absent=False), info).train()
    present = torch.ones(4, 4, dtype=torch.bool)
    present[2, 0] = False
    batch = _targets(random_batch(info, 4, present=present), info)
    out = model(batch)["localisation"]["video"]
    assert out["rows"].tolist() == [0, 1, 2, 3] and out["valid"].tolist() == [True, True, False, True]
    only_absent = {**batch, "video_has_boxes": torch.tensor([False, False, True, False])}
    terms = build_loss(tiny_loss(), info, LOC)(model(only_absent), only_absent)
    assert float(terms["det_l1"].detach()) == 0.0
