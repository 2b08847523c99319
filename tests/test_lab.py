"""`make lab` serves the course: JupyterLab answers on 127.0.0.1 and lists the chapters."""

import urllib.request
from pathlib import Path

import pytest

from tests.lab_server import get_json, jupyterlab

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_jupyterlab_serves_the_notebooks(tmp_path):
    with jupyterlab(ROOT / "notebooks", tmp_path) as (base, token):
        names = {item["name"] for item in get_json(f"{base}/api/contents?token={token}")["content"]}
        assert "00_welcome.ipynb" in names
        page = urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10).read()
        assert b"JupyterLab" in page
