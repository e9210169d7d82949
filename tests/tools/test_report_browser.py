"""``report.html`` of ``weldfusion predict`` in a real headless browser (Chromium through Selenium).

Skipped, with the reason, only where no Chromium + chromedriver can be found (``.ci/run``
installs Debian's ``chromium`` and ``chromium-driver``). The page is opened from the file system:
no server, no network.
"""

from __future__ import annotations

import shutil

import h5py
import pandas as pd
import pytest
from _sim_recordings import tiny_sim_recordings
from _stream_helpers import tiny_recipe, write_checkpoint
from weldfusion.tools.predict import cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no Chromium + chromedriver on this machine (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--allow-file-access-from-files"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def test_report_renders_with_every_image_and_the_worst_weld_first(tmp_path):
    data = tiny_sim_recordings(tmp_path / "data", {"Al-steel": 2, "Cu-SS": 1})
    ck = write_checkpoint(tmp_path / "tiny.pt", tiny_recipe(data), threshold=0.3)
    unlabelled = tmp_path / "new_welds"
    shutil.copytree(data, unlabelled)
    for path in unlabelled.glob("*.h5"):  # new welds: no labels
        with h5py.File(path, "a") as f:
            del f["labels"]
    out = tmp_path / "out"
    assert cli([str(ck), "--data", str(unlabelled), "--out", str(out), "--quiet"]) == 0
    welds = pd.read_csv(out / "welds.csv")
    worst = welds.sort_values(["verdict", "n_events", "recording_id"], ascending=[False, False, True]).iloc[0]
    driver = _browser()
    try:
        driver.get((out / "report.html").resolve().as_uri())
        assert driver.title.startswith("weldfusion predict")
        images = driver.find_elements("css selector", "img")
        assert len(images) == len(welds)
        assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
                   for img in images)
        first = driver.find_element("css selector", "table#welds tbody tr td").text
        assert first == worst["recording_id"]
        driver.find_element("css selector", "table#welds th").click()  # sortable: the first header re-sorts
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()
