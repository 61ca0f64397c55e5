"""dltp installs into an environment that already has torch: its torch requirement is a range, and
pip, asked to install the project where its dependencies are present, installs nothing else.
(The check with another torch, 2.14.1, needs that torch's CUDA build; docs/install.md gives it.)"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement

from conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def torch_requirement() -> Requirement:
    found = [Requirement(r) for r in PROJECT["dependencies"] if Requirement(r).name == "torch"]
    assert len(found) == 1, found
    return found[0]


def test_torch_is_a_range_that_admits_the_installed_builds():
    spec = torch_requirement().specifier
    assert not any(s.operator in ("==", "===", "~=") for s in spec), spec
    for version in ("2.1.0", "2.13.0", "2.13.0+cpu", "2.14.1", "2.15.0"):
        assert spec.contains(version, prereleases=False), (spec, version)


def test_the_licence_is_named_and_shipped():
    assert PROJECT["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert PROJECT["license-files"] == ["LICENSE"]


def test_the_version_is_one_and_the_changelog_has_it():
    import dltp

    assert dltp.__version__ == PROJECT["version"]
    assert f"## [{PROJECT['version']}]" in (ROOT / "CHANGELOG.md").read_text()


@pytest.mark.slow
def test_pip_installs_nothing_but_dltp_where_its_dependencies_are(tmp_path):
    """In the test environment (torch, keras, jax, MLflow … present), `pip install --dry-run .` resolves
    every requirement from what is installed, offline: no torch, nor anything else, would come in."""
    report = tmp_path / "report.json"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--no-build-isolation",
                          "--quiet", "--report", str(report), str(ROOT)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    names = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    assert names == ["dltp"], names
