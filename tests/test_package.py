"""newsbot as a user installs it: the wheel `pip wheel .` builds, in a fresh venv.

The venv keeps the pip that `python3.11 -m venv` brings (no upgrade), and gets only
torch's CPU build and the wheel: no extras, no dev tools, not this checkout.
"""

from __future__ import annotations

import ensurepip
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, SEED_QUESTION

pytestmark = [pytest.mark.slow, pytest.mark.package]

PACKAGES = ("bot", "ingest", "ui")
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
# The build's own torch: its CPU build from this machine, before anything can pull another.
TORCH = "torch==2.13.0"


def run(
    command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)


def source_files() -> list[str]:
    """The checkout's files as a fresh clone would have them (plus new, unignored ones)."""
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO)
    return [name for name in listed.stdout.splitlines() if (REPO / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel .` in a copy of the source, so no earlier build/ of this checkout leaks in
    and the build writes nothing into it."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), "."]
    built = run(pip_wheel, cwd=source)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel_file,) = out.glob("newsbot-*.whl")
    return wheel_file


@pytest.fixture(scope="module")
def user_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user's shell: no PYTHONPATH into this checkout, no NEWSBOT_* or offline settings.

    Only the model cache moves, so the test's exports do not pile up in the user's.
    """
    names = ("PATH", "HOME", "LANG", "TMPDIR", "XDG_CACHE_HOME")
    kept = {name: os.environ[name] for name in names if name in os.environ}
    models = tmp_path_factory.mktemp("models")
    return {**kept, "NEWSBOT_MODEL_CACHE_DIR": str(models)}


@pytest.fixture(scope="module")
def stock_venv(
    tmp_path_factory: pytest.TempPathFactory, wheel: Path, user_env: dict[str, str]
) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "v"
    created = run([sys.executable, "-m", "venv", str(venv)])
    assert created.returncode == 0, created.stderr
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    assert f"pip {ensurepip.version()} " in run([*pip, "--version"]).stdout
    for requirement in (TORCH, str(wheel)):
        installed = run([*pip, "install", requirement], env=user_env)
        assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return venv


def test_wheel_holds_the_packages_and_sample_news_and_nothing_else(wheel: Path) -> None:
    tracked = [name for name in source_files() if name.split("/")[0] in PACKAGES]
    assert "ingest/samples/sample_news.jsonl" in tracked
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"newsbot-{VERSION}.dist-info/"
    assert sorted(n for n in names if not n.startswith(dist_info)) == sorted(tracked)
    assert {dist_info + "METADATA", dist_info + "entry_points.txt"} <= set(names)


def test_fresh_venv_with_stock_pip_ingests_and_answers(
    stock_venv: Path, user_env: dict[str, str], seed_article: Path, tmp_path: Path
) -> None:
    newsbot = [str(stock_venv / "bin" / "newsbot"), "--data-dir", str(tmp_path / "data")]
    version = run([newsbot[0], "--version"], env=user_env, cwd=tmp_path)
    assert version.stdout.strip() == f"newsbot {VERSION}", version.stderr
    python = str(stock_venv / "bin" / "python")
    module = run([python, "-m", "bot", "--version"], env=user_env, cwd=tmp_path)
    assert module.stdout == version.stdout, module.stderr  # `python -m bot` is `newsbot`
    ingested = run([*newsbot, "ingest", str(seed_article)], env=user_env, cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr[-3000:]
    assert ingested.stdout.startswith("added 1,"), ingested.stdout
    asked = run([*newsbot, "ask", SEED_QUESTION], env=user_env, cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr[-3000:]
    answer = asked.stdout.split("\n\n")[0]
    assert "Morgan Stanley" in answer and "Citi" in answer, asked.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # nothing else in the cwd


def test_a_broken_html_reader_fails_only_html(
    stock_venv: Path, user_env: dict[str, str], seed_article: Path, tmp_path: Path
) -> None:
    """The reported breakage: without lxml_html_clean, trafilatura cannot import."""
    pip = [str(stock_venv / "bin" / "python"), "-m", "pip"]
    page = tmp_path / "page.html"
    page.write_text("<html><body><article><p>" + "Gold rose on Monday. " * 20 + "</p>")
    newsbot = [str(stock_venv / "bin" / "newsbot"), "--data-dir", str(tmp_path / "data")]
    assert run([*pip, "uninstall", "-y", "lxml_html_clean"], env=user_env).returncode == 0
    try:
        ingested = run([*newsbot, "ingest", str(page), str(seed_article)], env=user_env)
    finally:
        assert run([*pip, "install", "lxml_html_clean"], env=user_env).returncode == 0
    assert ingested.returncode == 1
    assert ingested.stdout.startswith("added 1,"), ingested.stdout  # the .txt went in
    (failure,) = [line for line in ingested.stderr.splitlines() if line.startswith("FAILED")]
    assert str(page) in failure and "pip install" in failure and "lxml_html_clean" in failure
