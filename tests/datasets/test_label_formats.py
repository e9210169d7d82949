"""Labels as people have them: Audacity tracks, Label Studio and ELAN exports, frame numbers, mm."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from ingest_helpers import edit_manifest
from weldfusion.datasets.ingest import ingest
from weldfusion.datasets.reader import Recording
from weldfusion.tools.ingest import cli


def _ingest_with(raw, tmp_path, table: str, spec) -> Recording:
    path = edit_manifest(raw, lambda d: d.update(labels={table: spec}))
    out = tmp_path / "run.h5"
    ingest(path, out, progress=False)
    return Recording(out)


def test_audacity_label_track(raw, tmp_path):
    # what Audacity's File > Export > Labels writes: start<TAB>end<TAB>label, spectral lines start with '\'
    (raw / "phases.txt").write_text("0.000000\t0.300000\tidle\n\\\t100.000000\t2000.000000\n"
                                    "0.300000\t0.850000\tdeposition\n")
    with _ingest_with(raw, tmp_path, "phases", "phases.txt") as rec:
        assert [(p.start_s, p.end_s, p.label) for p in rec.phases] == [(0.0, 0.3, "idle"), (0.3, 0.85, "deposition")]


def test_label_studio_export(raw, tmp_path):
    # a Label Studio JSON export of a time-series labelling project (one task, one annotation)
    export = [{"id": 7, "data": {"csv": "/data/upload/daq.csv"}, "annotations": [{
        "id": 3, "completed_by": 1, "result": [
            {"id": "r1", "from_name": "label", "to_name": "ts", "type": "timeserieslabels", "origin": "manual",
             "value": {"start": 0.2, "end": 0.45, "instant": False, "timeserieslabels": ["porosity"]}},
            {"id": "r2", "from_name": "label", "to_name": "ts", "type": "timeserieslabels", "origin": "manual",
             "value": {"start": 0.6, "end": 0.7, "instant": False, "timeserieslabels": ["spatter"]}},
            {"id": "r3", "from_name": "note", "to_name": "ts", "type": "textarea", "value": {"text": ["ok"]}}]}]}]
    (raw / "defects.json").write_text(json.dumps(export))
    with _ingest_with(raw, tmp_path, "defects", "defects.json") as rec:
        got = sorted((d.start_s, d.end_s, d.label) for d in rec.defects)
    assert got == [(0.2, 0.45, "porosity"), (0.6, 0.7, "spatter")]


def _eaf(path, tiers: dict[str, list[tuple[int, int, str]]]) -> None:
    """An ELAN .eaf document (EAF 3.0): time slots in ms, one alignable annotation per interval."""
    root = ET.Element("ANNOTATION_DOCUMENT", {"AUTHOR": "", "DATE": "2026-12-02T00:00:00+00:00", "FORMAT": "3.0",
                                             "VERSION": "3.0"})
    ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    order = ET.SubElement(root, "TIME_ORDER")
    k = 0
    slots = []
    for rows in tiers.values():
        for a, b, _ in rows:
            for v in (a, b):
                k += 1
                ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": f"ts{k}", "TIME_VALUE": str(v)})
                slots.append(f"ts{k}")
    k = 0
    for name, rows in tiers.items():
        tier = ET.SubElement(root, "TIER", {"LINGUISTIC_TYPE_REF": "default-lt", "TIER_ID": name})
        for _a, _b, label in rows:
            ann = ET.SubElement(ET.SubElement(tier, "ANNOTATION"), "ALIGNABLE_ANNOTATION",
                                {"ANNOTATION_ID": f"a{k // 2}", "TIME_SLOT_REF1": slots[k], "TIME_SLOT_REF2": slots[k + 1]})
            ET.SubElement(ann, "ANNOTATION_VALUE").text = label
            k += 2
    ET.SubElement(root, "LINGUISTIC_TYPE", {"LINGUISTIC_TYPE_ID": "default-lt", "TIME_ALIGNABLE": "true"})
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def test_elan_tier_in_milliseconds(raw, tmp_path):
    _eaf(raw / "weld.eaf", {"phases": [(0, 250, "idle"), (250, 900, "deposition")], "notes": [(0, 900, "idle")]})
    with _ingest_with(raw, tmp_path, "phases", "weld.eaf") as rec:
        assert [(p.start_s, p.end_s, p.label) for p in rec.phases] == [(0.0, 0.25, "idle"), (0.25, 0.9, "deposition")]
    bad = edit_manifest(raw, lambda d: d.update(labels={"phases": {"path": "weld.eaf", "tier": "operator"}}))
    assert cli([str(bad), "--out", str(tmp_path / "x.h5"), "--quiet"]) == 2
    assert not (tmp_path / "x.h5").exists()


def test_frame_numbered_labels_use_the_video_clock(raw, tmp_path):
    (raw / "frames.csv").write_text("start,end,label\n25,100,porosity\n")
    spec = {"path": "frames.csv", "unit": "frames", "stream": "video"}
    with _ingest_with(raw, tmp_path, "defects", spec) as rec:
        (d,) = rec.defects
        times = rec.timestamps("video") if not rec.streams["video"].regular else (
            rec.streams["video"].starting_time + np.arange(rec.streams["video"].n) / rec.streams["video"].rate)
    assert d.start_s == pytest.approx(times[25], abs=1e-9) and d.end_s == pytest.approx(times[100], abs=1e-9)


def test_positions_in_mm_from_an_ndt_report(raw, tmp_path):
    """Radiography gives 'porosity from 1.2 to 3.0 mm from the weld start': converted with the travel speed."""
    (raw / "ndt.csv").write_text("start,end,label\n1.2,3.0,porosity\n")
    with _ingest_with(raw, tmp_path, "defects", {"path": "ndt.csv", "unit": "mm"}) as rec:
        (d,) = rec.defects
        data, t = rec.read("electrical", 0.0, 2.0)
    ignition = t[np.flatnonzero(data[:, 0] >= 20.0)[0]]
    speed = float(np.median(data[:, 3]))  # 6 mm/s in this recording
    assert d.start_s == pytest.approx(ignition + 1.2 / speed, abs=2e-3)
    assert d.end_s == pytest.approx(ignition + 3.0 / speed, abs=2e-3)


@pytest.mark.parametrize(("name", "text", "words"), [
    ("phases.txt", "0.0 0.3 idle\n", ("phases.txt", "line 1", "start<TAB>end<TAB>label")),
    ("phases.json", "{not json", ("phases.json", "not valid JSON")),
    ("phases.eaf", "<html></html>", ("phases.eaf", "not an ELAN .eaf file")),
    ("phases.txt", "0.5\t0.2\tidle\n", ("phases.txt", "line 1", "end 0.2 <= start 0.5")),
    ("phases.txt", "0.0\t0.3\tmelting\n", ("phases.txt", "unknown phase label 'melting'")),
])
def test_bad_label_files_are_one_line_errors(raw, tmp_path, capsys, name, text, words):
    (raw / name).write_text(text)
    path = edit_manifest(raw, lambda d: d.update(labels={"phases": name}))
    out = tmp_path / "bad.h5"
    assert cli([str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err
    assert not out.exists()
