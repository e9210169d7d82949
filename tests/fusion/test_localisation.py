"""The localisation heads on MS-STAN's maps: shapes, rows, loss terms, learning, switches, scoring."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from model_fixtures import random_batch, tiny_config, tiny_info, tiny_loss
from torchvision.ops import box_iou
from weldfusion.fusion.build import build_loss, build_model
from weldfusion.fusion.config import LocalisationConfig
from weldfusion.fusion.detection.matcher import cxcywh_to_xyxy
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


SEEDED = dataclasses.replace(LOC, seeded_queries=3)


def test_seeded_queries_add_token_proposals_and_their_loss_terms():
    info = tiny_info()
    model = build_model(tiny_config(localisation=SEEDED), info).train()
    batch = _targets(random_batch(info, 4), info)
    out = model(batch)["localisation"]["video"]
    kept = model.encoders["video"].net.kept_frames()
    assert out["det_logits"].shape == (4, kept, 4 + 3, len(CLASSES) + 1) and out["det_boxes"].shape == (4, kept, 7, 4)
    seed = out["det_seed"]
    n = sum(h * w for h, w in seed["levels"])
    assert seed["logits"].shape == (4, kept, n, len(CLASSES)) and seed["boxes"].shape == (4, kept, n, 4)
    assert ((out["det_boxes"] >= 0) & (out["det_boxes"] <= 1)).all()
    terms = build_loss(tiny_loss(), info, SEEDED)(model(batch), batch)
    for k in ("det_seed_class", "det_seed_l1", "det_seed_giou"):
        assert torch.isfinite(terms[k]) and terms[k] > 0
    assert "det_seed_class" not in build_loss(tiny_loss(), info, LOC)(build_model(tiny_config(localisation=LOC), info)
                                                                      .train()(batch), batch)
    with pytest.raises(ValueError, match="seeded_queries"):
        dataclasses.replace(LOC, seeded_queries=-1)


def test_seed_loss_positives_are_the_centre_cells_of_every_level():
    from weldfusion.fusion.detection.loss import seed_loss

    levels = ((4, 4), (2, 2))
    target = torch.full((1, 2, 5), -1.0)
    target[0, 0] = torch.tensor([2.0, 0.6, 0.1, 0.05, 0.05])  # centre in row 0, column 2 (4x4); row 0, column 1 (2x2)
    logits = torch.full((1, 20, 3), -9.0)
    boxes = torch.full((1, 20, 4), 0.5)
    logits[0, 2, 2] = logits[0, 16 + 1, 2] = 9.0  # confident on exactly those cells
    boxes[0, 2] = boxes[0, 17] = target[0, 0, 1:]
    right = seed_loss(logits, boxes, levels, target)
    assert right["det_seed_class"] < 1e-3 and right["det_seed_l1"] < 1e-6 and right["det_seed_giou"] < 1e-3
    wrong = logits.clone()
    wrong[0, 2, 2], wrong[0, 3, 2] = -9.0, 9.0  # the neighbouring cell instead
    assert seed_loss(wrong, boxes, levels, target)["det_seed_class"] > 1.0
    with pytest.raises(ValueError, match="tokens"):
        seed_loss(logits, boxes, ((4, 4),), target)


def test_seeded_queries_find_a_small_object_the_dense_way():
    """A 2x2-pixel object at a random place in each window: after training, the proposal of the token
    scoring its class highest sits on it (IoU > 0.3) — the seeds of the seeded queries find it."""
    torch.manual_seed(0)
    info = tiny_info(names=("video", "electrical"))
    cfg = tiny_config(localisation=dataclasses.replace(SEEDED, motion=False), modality_heads=False)
    model = build_model(cfg, info).train()
    loss = build_loss(tiny_loss(contrastive=False, semantic_similarity=False), info, cfg.localisation)
    t, h, w = info.modality("video").shape
    gen = torch.Generator().manual_seed(1)

    def batch_with_dots(b):
        batch = random_batch(info, b)
        video = torch.zeros(b, t, h, w)
        boxes = torch.full((b, t, 3, 5), -1.0)
        ys = torch.randint(2, h - 4, (b,), generator=gen)
        xs = torch.randint(2, w - 4, (b,), generator=gen)
        for i in range(b):
            video[i, :, ys[i]:ys[i] + 2, xs[i]:xs[i] + 2] = 5.0
            boxes[i, :, 0] = torch.tensor([4.0, (xs[i] + 1) / w, (ys[i] + 1) / h, 2 / w, 2 / h])
        return {**batch, "video": video, "video_boxes": boxes, "video_motion": torch.zeros(b, t, h, w, dtype=torch.uint8),
                "video_has_boxes": torch.ones(b, dtype=torch.bool), "video_has_motion": torch.zeros(b, dtype=torch.bool)}

    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(150):
        batch = batch_with_dots(8)
        terms = loss(model(batch), batch)
        opt.zero_grad()
        (terms["det_seed_class"] + 2.5 * terms["det_seed_l1"] + terms["det_seed_giou"] + terms["det_class"]
         + 2.5 * terms["det_l1"] + terms["det_giou"]).backward()
        opt.step()
    model.eval()
    batch = batch_with_dots(6)
    with torch.no_grad():
        pred = model(batch)["localisation"]["video"]
    seed = pred["det_seed"]
    ious = []
    for i in range(6):
        best = seed["logits"][i, 0, :, 4].argmax()  # the token scoring the dot's class highest
        ious.append(float(box_iou(cxcywh_to_xyxy(seed["boxes"][i, 0, best][None]),
                                  cxcywh_to_xyxy(batch["video_boxes"][i, 0, :1, 1:]))[0, 0]))
    assert sum(iou > 0.3 for iou in ious) >= 5, ious
