"""The hashed lock files agree with pyproject.toml (regenerate both with `make lock`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def read_lock(name: str) -> dict[str, str]:
    """{package: version} of a pip-compile style lock, checking every pin has hashes."""
    text = (ROOT / name).read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if not match:
            continue
        assert "--hash=sha256:" in block, f"{name}: {match.group(1)} has no hash"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def requirements(*, dev: bool) -> list[Requirement]:
    project = pyproject()["project"]
    reqs = list(project["dependencies"])
    if dev:
        reqs += project["optional-dependencies"]["dev"]
    return [Requirement(r) for r in reqs]


@pytest.mark.parametrize(
    ("lock", "dev"), [("requirements.lock", False), ("requirements-dev.lock", True)]
)
def test_every_dependency_is_pinned_in_the_lock_within_its_range(lock: str, dev: bool) -> None:
    pins = read_lock(lock)
    for requirement in requirements(dev=dev):
        name = canonicalize_name(requirement.name)
        assert name in pins, (
            f"{requirement.name} is in pyproject.toml but not in {lock}: run make lock"
        )
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside {requirement.specifier}: run make lock"
        )


def test_the_dev_lock_pins_the_runtime_lock_versions() -> None:
    runtime, dev = read_lock("requirements.lock"), read_lock("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_runtime_lock_holds_no_test_tools() -> None:
    runtime = read_lock("requirements.lock")
    assert not {"pytest", "ruff", "mypy", "playwright", "hypothesis"} & set(runtime)


def test_the_installed_packages_are_the_locked_ones() -> None:
    from importlib.metadata import PackageNotFoundError, version

    for name, pinned in read_lock("requirements-dev.lock").items():
        try:
            assert version(name) == pinned, f"{name}: installed {version(name)}, locked {pinned}"
        except PackageNotFoundError:
            pytest.fail(f"{name} is locked but not installed: run make test (it installs the lock)")
