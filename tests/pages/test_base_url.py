"""`PORT=8010 make run`: every link and redirect stays on the port served (issue 12, trap 7)."""

from __future__ import annotations

import os
import subprocess
import sys

from portal.settings import Settings


def test_base_url_follows_port_when_unset(tmp_path):
    settings = Settings.from_env({"PORT": "8010", "CARNET_DATA_DIR": str(tmp_path)})
    assert settings.base_url == "http://127.0.0.1:8010"


def test_explicit_base_url_wins_over_port(tmp_path):
    settings = Settings.from_env(
        {"PORT": "8010", "CARNET_BASE_URL": "https://carnet.example/", "CARNET_DATA_DIR": str(tmp_path)}
    )
    assert settings.base_url == "https://carnet.example"


def test_default_without_port(tmp_path):
    assert Settings.from_env({"CARNET_DATA_DIR": str(tmp_path)}).base_url == "http://127.0.0.1:8000"


def test_serve_port_option_sets_the_links_port(tmp_path):
    """`carnet serve --port 8010` (what `make run` calls) makes the app build links on :8010."""
    code = (
        "import os, sys, uvicorn\n"
        "uvicorn.run = lambda *a, **k: print(os.environ['CARNET_BASE_URL'])\n"
        "from portal.cli import main\n"
        "sys.argv = ['carnet', 'serve', '--port', '8010']\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CARNET_BASE_URL", "PORT")}
    env["CARNET_DATA_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.stdout.strip().splitlines()[-1] == "http://127.0.0.1:8010", out.stderr
