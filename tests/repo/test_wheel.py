"""The wheel built from the checkout is the whole application: every module of tablequeue/
imports from it in a fresh virtual environment (the editable install used everywhere else
would hide a package missing from it, as tablequeue.protocol once was)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs in the fresh venv, from outside the checkout: prints each module's file.
IMPORT_ALL = """
import importlib, pkgutil, sys, tablequeue, app
for info in pkgutil.walk_packages(tablequeue.__path__, "tablequeue."):
    importlib.import_module(info.name)
for name in sorted(sys.modules):
    if name == "app" or name == "tablequeue" or name.startswith("tablequeue."):
        print(name, sys.modules[name].__file__)
"""


def _modules_in_checkout() -> set[str]:
    names = set()
    for path in (REPO / "tablequeue").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy of what the wheel is made of, so the checkout gets no build/."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "app.py", "wsgi.py", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "tablequeue", source / "tablequeue",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp / "dist"), str(source)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = (tmp / "dist").glob("tablequeue-*.whl")
    return wheel


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    """A new venv holding only the wheel; its dependencies are borrowed from this one's
    site-packages by a .pth line (offline, and no editable finder: a path a .pth adds
    has its own .pth files ignored)."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, text=True)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    (Path(purelib) / "borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_the_wheel_holds_and_imports_every_module(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {
            name[:-3].replace("/", ".").removesuffix(".__init__")
            for name in archive.namelist()
            if name.startswith("tablequeue/") and name.endswith(".py")
        }
    expected = _modules_in_checkout()
    assert in_wheel == expected, f"missing from the wheel: {sorted(expected - in_wheel)}"

    python = _fresh_venv(tmp_path, wheel)
    run = subprocess.run([str(python), "-c", IMPORT_ALL], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    imported = dict(line.split(" ", 1) for line in run.stdout.splitlines())
    assert expected <= imported.keys(), sorted(expected - imported.keys())
    venv = str(tmp_path / "venv")
    elsewhere = {name: path for name, path in imported.items() if not path.startswith(venv)}
    assert not elsewhere, f"imported from outside the fresh venv: {elsewhere}"
