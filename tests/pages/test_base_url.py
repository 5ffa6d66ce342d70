"""`PORT=8010 make run`: every link and redirect stays on the port served (issue 12, trap 7)."""

from __future__ import annotations

import os

from portal.settings import Settings
from tests.cli import run_carnet


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


def test_serve_port_option_sets_the_links_port(tmp_path, monkeypatch):
    """`carnet serve --port 8010` (what `make run` calls) makes the app build links on :8010."""
    served: list[str] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: served.append(os.environ["CARNET_BASE_URL"]))
    # None: unset while the command runs, and unset again after it (it sets two of them).
    env = {"CARNET_BASE_URL": None, "PORT": None, "CARNET_SECRET_KEY": None, "CARNET_DATA_DIR": str(tmp_path)}
    ran = run_carnet(env, "serve", "--port", "8010")
    assert ran.returncode == 0, ran.stderr
    assert served == ["http://127.0.0.1:8010"]


def test_serve_runs_one_process_per_core_on_postgresql_and_one_on_sqlite(tmp_path, monkeypatch):
    started: list[dict[str, object]] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: started.append(k))
    # Several processes on Linux: one SO_REUSEPORT socket each (portal/serving.py).
    monkeypatch.setattr("portal.serving.run", lambda config: started.append({"workers": config.workers}))
    base = {"CARNET_BASE_URL": None, "CARNET_SECRET_KEY": None, "CARNET_DATA_DIR": str(tmp_path)}
    sqlite = run_carnet({**base, "CARNET_DATABASE_URL": None}, "serve")
    postgresql = run_carnet({**base, "CARNET_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/x"}, "serve")
    chosen = run_carnet({**base, "CARNET_DATABASE_URL": None}, "serve", "--workers", "3")
    assert (sqlite.returncode, postgresql.returncode, chosen.returncode) == (0, 0, 0), sqlite.stderr
    assert [run["workers"] for run in started] == [1, os.cpu_count(), 3]
