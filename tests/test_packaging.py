"""The installed distribution: import names, console scripts, no clash with proto-plus."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


PROBE = """
import proto, tastevec.proto
print(proto.__file__)
print(list(tastevec.proto.__path__)[0])
print(hasattr(proto, "Message"))
"""


def test_our_proto_folder_never_shadows_proto_plus() -> None:
    # proto-plus (pulled in by Google client libraries) owns the top-level name `proto`.
    # Run from the repository root, where `python -c` puts the root first on sys.path:
    # `import proto` must still be proto-plus, and ours must be tastevec.proto.
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    theirs, ours, has_message = run.stdout.split()
    assert Path(theirs).parent.parent.name == "site-packages"
    assert Path(ours).resolve() == ROOT / "proto"
    assert has_message == "True"  # proto-plus' API, not ours


@pytest.mark.parametrize("package", ["common", "server", "client", "proto", "simulations"])
def test_subpackages_import_from_the_repository_root(package: str) -> None:
    module = importlib.import_module(f"tastevec.{package}")
    assert Path(next(iter(module.__path__))).resolve() == ROOT / package


@pytest.mark.parametrize("script", ["tastevec-server", "tastevec-client", "tastevec-sim"])
def test_console_scripts_answer_help_and_version(script: str) -> None:
    executable = Path(sys.executable).parent / script
    help_run = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=120)
    assert help_run.returncode == 0, help_run.stderr
    assert f"usage: {script}" in help_run.stdout
    version_run = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, timeout=120
    )
    assert version_run.returncode == 0
    assert version_run.stdout.startswith(f"{script} 0.")


def test_unknown_arguments_are_one_line_usage_errors() -> None:
    executable = Path(sys.executable).parent / "tastevec-sim"
    run = subprocess.run(
        [executable, "bench", "nonsense"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2
    assert "invalid choice: 'nonsense'" in run.stderr
