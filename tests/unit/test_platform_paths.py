"""Platform path semantics: Windows drive/UNC roots, relocation between drive letters, long
paths (pure Windows paths, checked on any OS), NFC/NFD names, names Windows forbids,
hidden/system files, and case-only renames (real files; on a file system that ignores case,
as on the macOS and Windows CI runners or the FUSE mount in test_case_insensitive_fs.py,
they take the folding code path)."""

from __future__ import annotations

import os
import shutil
import sys
import time
import unicodedata
from pathlib import Path, PureWindowsPath
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from photoorg.core.ingest.relocation import find_relocated_root
from photoorg.core.ingest.scanner import is_excluded, scan_library, scan_paths
from photoorg.core.media import platform_paths as pp
from photoorg.core.metadata.sidecar import sidecar_path, write_sidecar
from photoorg.core.store.catalog import Catalog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from casefold_fs import mounted  # noqa: E402

W = PureWindowsPath
NFC_NAME = unicodedata.normalize("NFC", "Café.jpg")
NFD_NAME = unicodedata.normalize("NFD", "Café.jpg")


def _jpeg(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(path, "JPEG")
    return path


def _rows(cat: Catalog) -> dict[str, int]:
    return {rel: pid for pid, rel in cat.query("SELECT id, rel_path FROM photos")}


@pytest.fixture(params=["disk", "casefold"])
def library(request: pytest.FixtureRequest, tmp_path: Path):
    """A library folder on the test's own file system, then on one that matches names
    ignoring case and normalisation as APFS does (a FUSE mount; skipped where FUSE is
    unavailable -- the macOS and Windows runners' own disks fold case anyway)."""
    pp.forget_name_rules()
    if request.param == "disk":
        yield tmp_path / "lib"
        return
    with mounted(tmp_path / "backing", tmp_path / "mnt") as mount:
        if isinstance(mount, str):
            pytest.skip(mount)
        yield mount / "lib"
    pp.forget_name_rules()


@pytest.fixture
def cat(tmp_path: Path):
    catalog = Catalog(tmp_path / "data" / "catalog.sqlite")
    yield catalog
    catalog.close()


# -- Windows roots (pure paths) ----------------------------------------------------


def test_normalize_root_drive_and_unc() -> None:
    assert pp.normalize_root("d:/photos\\", windows=True) == W("D:\\photos")
    assert str(pp.normalize_root("d:/photos\\", windows=True)) == "D:\\photos"
    unc = pp.normalize_root("\\\\server\\share\\Photos", windows=True)
    assert str(unc) == "\\\\server\\share\\Photos"
    assert unc.drive == "\\\\server\\share"
    assert str(pp.normalize_root("//nas/photo/2023", windows=True)) == "\\\\nas\\photo\\2023"
    for bad in ("D:photos", "\\photos", "photos"):
        with pytest.raises(ValueError, match="not an absolute Windows path"):
            pp.normalize_root(bad, windows=True)


def test_split_under_root_drive_letters_case_and_unc() -> None:
    roots = [W("D:\\Photos"), W("\\\\server\\share\\Photos"), W("D:\\Photos\\2023")]
    assert pp.split_under_root(W("d:\\photos\\a.jpg"), roots) == (0, "a.jpg")
    # deepest root wins, relative path keeps the target's spelling
    assert pp.split_under_root(W("D:\\PHOTOS\\2023\\Trip\\B.JPG"), roots) == (2, "Trip/B.JPG")
    assert pp.split_under_root(W("\\\\SERVER\\Share\\photos\\x\\y.jpg"), roots) == (1, "x/y.jpg")
    assert pp.split_under_root(W("//server/share/Photos/z.jpg"), roots) == (1, "z.jpg")
    assert pp.split_under_root(W("E:\\Photos\\a.jpg"), roots) is None  # another drive
    assert pp.split_under_root(W("\\\\server\\other\\Photos\\a.jpg"), roots) is None
    assert pp.split_under_root(W("D:\\Photos2\\a.jpg"), roots) is None  # not a prefix by text
    assert pp.split_under_root(W("D:\\Photos"), roots) == (0, "")


def test_split_under_root_posix_is_case_sensitive_but_ignores_normalisation(
    tmp_path: Path,
) -> None:
    roots = [tmp_path / unicodedata.normalize("NFD", "Été")]
    typed = tmp_path / unicodedata.normalize("NFC", "Été") / NFC_NAME
    assert pp.split_under_root(typed, roots, fold_case=False) == (0, NFC_NAME)
    assert pp.split_under_root(tmp_path / "ÉTÉ" / "a.jpg", roots, fold_case=False) is None
    assert pp.split_under_root(tmp_path / "ÉTÉ" / "a.jpg", roots, fold_case=True) == (0, "a.jpg")


def test_relocation_candidates_between_drive_letters() -> None:
    assert pp.relocation_candidates(W("D:\\Photos\\2023"), ["C:", "D", "e:\\"]) == [
        W("C:\\Photos\\2023"),
        W("E:\\Photos\\2023"),
    ]
    assert pp.relocation_candidates(W("\\\\server\\share\\Photos"), ["E"]) == []
    assert pp.relocation_candidates(Path("/media/usb/Photos"), ["E"]) == []
    assert pp.with_drive(W("d:\\a\\b"), "f") == W("F:\\a\\b")


def test_find_relocated_root_by_content(tmp_path: Path, cat: Catalog) -> None:
    """The drive came back under another letter: the candidate holding the same photos at
    the same paths is found, a folder of the same name with other photos is not."""
    old = tmp_path / "D" / "Photos"
    for i in range(3):
        _jpeg(old / f"2023/img{i}.jpg", seed=i)
    root = cat.add_root(old)
    scan_library(cat)
    impostor = tmp_path / "F" / "Photos"
    for i in range(3):
        _jpeg(impostor / f"2023/img{i}.jpg", seed=10 + i)
    new = tmp_path / "E" / "Photos"
    new.parent.mkdir()
    shutil.move(old, new)
    scan_library(cat)
    root = cat.root(root.id)
    assert root is not None and not root.online
    assert find_relocated_root(cat, root, [tmp_path / "C" / "Photos", impostor, new]) == new
    assert find_relocated_root(cat, root, [impostor]) is None
    ids = _rows(cat)
    cat.relocate_root(root.id, new)
    scan_library(cat)
    assert _rows(cat) == ids  # re-pointed, nothing re-indexed


# -- long paths (pure Windows strings) -----------------------------------------------


def test_long_path_prefix() -> None:
    deep = "C:\\" + "\\".join([f"folder{i:02d}" for i in range(30)]) + "\\IMG_0001.JPG"
    assert len(deep) > 260
    assert pp.long_path(deep) == "\\\\?\\" + deep
    assert pp.long_path(deep.replace("\\", "/")) == "\\\\?\\" + deep  # / not allowed after \\?\
    dotted = deep.replace("folder05", "folder05\\..\\folder05")
    assert pp.long_path(dotted) == "\\\\?\\" + deep  # .. resolved before prefixing
    unc = "\\\\server\\share\\" + "\\".join([f"f{i:03d}" for i in range(70)]) + "\\a.jpg"
    assert pp.long_path(unc) == "\\\\?\\UNC\\server\\share\\" + unc[len("\\\\server\\share\\"):]
    assert pp.long_path("C:\\Photos\\a.jpg") == "C:\\Photos\\a.jpg"  # short: unchanged
    assert pp.long_path("\\\\?\\" + deep) == "\\\\?\\" + deep  # already prefixed
    assert pp.long_path("relative\\" * 40 + "a.jpg") == "relative\\" * 40 + "a.jpg"
    if not pp.IS_WINDOWS:
        assert pp.os_path(Path("/x") / ("y" * 300)) == "/x/" + "y" * 300


def test_deep_paths_are_indexed(tmp_path: Path, cat: Catalog) -> None:
    """A photo whose full path is over 260 characters (fine on Linux and macOS; on Windows
    it takes the \\\\?\\ prefix) is found, hashed and kept."""
    deep = tmp_path.joinpath(*[f"level-{i:02d}-of-a-deep-tree" for i in range(12)])
    photo = deep / "IMG_0001.jpg"
    assert len(str(photo)) > 260
    # (created through the prefix too: Windows without LongPathsEnabled refuses otherwise)
    Path(pp.os_path(deep)).mkdir(parents=True)
    Image.new("RGB", (16, 16), (200, 20, 20)).save(pp.os_path(photo), "JPEG")
    cat.add_root(tmp_path)
    assert scan_library(cat).added == 1
    (row,) = cat.photos_in_root(cat.roots()[0].id).values()
    assert row.path == photo and row.content_hash


# -- Unicode normalisation ----------------------------------------------------------


def test_nfd_name_found_and_matched_in_either_form(library: Path, cat: Catalog) -> None:
    """macOS (HFS+) lists 'Café.jpg' decomposed; people type it composed. The catalog keeps
    the listed name (it opens everywhere) and matches both."""
    lib = library
    photo = _jpeg(lib / NFD_NAME)
    cat.add_root(lib)
    assert scan_library(cat).added == 1
    ((rel, pid),) = _rows(cat).items()
    assert rel in (NFD_NAME, NFC_NAME)  # as listed (macOS APFS may keep either)
    assert cat.photo_id_for_path(lib / NFC_NAME) == pid
    assert cat.photo_id_for_path(lib / NFD_NAME) == pid
    row = cat.photo(pid)
    assert row is not None and row.path.read_bytes() == photo.read_bytes()
    again = scan_library(cat)
    assert (again.added, again.removed, again.moved, again.unchanged) == (0, 0, 0, 1)


def test_row_stored_in_other_normalisation_is_respelled_not_reindexed(
    library: Path, cat: Catalog
) -> None:
    """A catalog that stored 'Café.jpg' composed (from another machine or a watcher event)
    meets a listing that spells it decomposed: same row, now spelled as listed."""
    lib = library
    _jpeg(lib / "trip" / NFD_NAME)
    root = cat.add_root(lib)
    scan_library(cat)
    ((rel, pid),) = _rows(cat).items()
    listed = rel
    other = unicodedata.normalize("NFC", rel)
    if other == rel:
        other = unicodedata.normalize("NFD", rel)
    row = cat.photo(pid)
    assert row is not None
    cat.move_photo(pid, root.id, other, row.mtime)
    report = scan_library(cat)
    assert (report.added, report.removed) == (0, 0)
    assert _rows(cat) == {listed: pid}


# -- names Windows forbids -----------------------------------------------------------


def test_windows_forbidden_names_are_indexed(
    tmp_path: Path, cat: Catalog
) -> None:
    if sys.platform.startswith("win"):
        pytest.skip("Windows cannot create these names (a Linux share shows them mapped)")
    lib = tmp_path / "share"
    names = ['a:b?.jpg', 'quote"star*.jpg', 'pipe|<gt>.jpg', "CON.jpg", "trailing .jpg"]
    for i, name in enumerate(names):
        _jpeg(lib / name, seed=i)
    cat.add_root(lib)
    assert scan_library(cat).added == len(names)
    rows = _rows(cat)
    assert set(rows) == set(names)
    for name in names:
        assert cat.photo_id_for_path(lib / name) == rows[name]
    # a sidecar sits beside its photo, on the same file system, so it takes the same name
    sidecar = write_sidecar(lib / "a:b?.jpg", None, ["People|Alice"])
    assert sidecar == sidecar_path(lib / "a:b?.jpg") and sidecar.is_file()


def test_samba_private_use_names_are_shown_as_meant() -> None:
    # what Windows lists for 'a:b?.jpg' on a Samba share with vfs_catia/fruit mapping
    mapped = "a\uf022b\uf025.jpg"
    assert pp.display_name(mapped) == "a:b?.jpg"
    assert pp.display_name("plain.jpg") == "plain.jpg"


# -- hidden and system files ---------------------------------------------------------


SYSTEM_FILES = [
    "Thumbs.db",
    "THUMBS.DB",
    "desktop.ini",
    "Desktop.ini",
    ".DS_Store",
    "._IMG_0001.jpg",  # AppleDouble resource fork
    "__MACOSX/._IMG_0002.jpg",
    "@eaDir/IMG_0001.jpg/SYNOPHOTO_THUMB_XL.jpg",  # Synology
    "Photos Library.photoslibrary/originals/0/IMG_0003.jpg",
    "iPhoto Library.photolibrary/Masters/IMG_0004.jpg",
    "Catalog Previews.lrdata/0/IMG_0005.jpg",
    "$Recycle.Bin/S-1-5-21/IMG_0006.jpg",
    "System Volume Information/IMG_0007.jpg",
    ".Trashes/501/IMG_0008.jpg",
    ".Spotlight-V100/IMG_0009.jpg",
]


def test_hidden_and_system_files_never_indexed(tmp_path: Path, cat: Catalog) -> None:
    lib = tmp_path / "lib"
    _jpeg(lib / "IMG_0001.jpg")
    for i, rel in enumerate(SYSTEM_FILES):
        target = lib / rel
        if target.suffix.lower() == ".jpg":
            _jpeg(target, seed=100 + i)  # real photos, in places that are not the library's
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # THUMBS.DB is Thumbs.db where case is ignored
                continue
            target.write_bytes(b"\0" * 64)
    for rel in SYSTEM_FILES:
        assert is_excluded(rel, []), rel
    cat.add_root(lib)
    scan_library(cat)
    assert set(_rows(cat)) == {"IMG_0001.jpg"}
    # the watcher's targeted scan agrees
    report = scan_paths(cat, {cat.roots()[0].id: SYSTEM_FILES})
    assert report.added == 0 and set(_rows(cat)) == {"IMG_0001.jpg"}


def test_hidden_by_os_attributes() -> None:
    assert pp.hidden_by_attributes(SimpleNamespace(st_file_attributes=0x2))  # HIDDEN
    assert pp.hidden_by_attributes(SimpleNamespace(st_file_attributes=0x4))  # SYSTEM
    assert not pp.hidden_by_attributes(SimpleNamespace(st_file_attributes=0x20))  # ARCHIVE
    assert pp.hidden_by_attributes(SimpleNamespace(st_flags=0x8000))  # macOS UF_HIDDEN
    assert not pp.hidden_by_attributes(os.stat(__file__))


# -- letter case ----------------------------------------------------------------------


def _folds_case(folder: Path) -> bool:
    probe = folder / "CaseProbe.tmp"
    probe.write_bytes(b"x")
    try:
        return (folder / "caseprobe.tmp").exists()
    finally:
        probe.unlink()


def test_name_rules_match_the_file_system(library: Path) -> None:
    _jpeg(library / "Probe.jpg")
    _jpeg(library / NFD_NAME)
    pp.forget_name_rules()
    rules = pp.name_rules(library)
    assert rules.fold_case == _folds_case(library)
    folds_unicode = (library / NFC_NAME).exists()
    assert rules.fold_unicode == (folds_unicode or pp.IS_MAC)


def test_case_only_rename_keeps_the_row(library: Path, cat: Catalog) -> None:
    """Index IMG_0001.JPG, rename it to img_0001.jpg, reconcile the way the watcher does
    (both spellings as targets) and with a full scan: one row, the same id, new name."""
    lib = library
    _jpeg(lib / "Trip" / "IMG_0001.JPG")
    root = cat.add_root(lib)
    scan_library(cat)
    ((_, pid),) = _rows(cat).items()
    os.rename(lib / "Trip" / "IMG_0001.JPG", lib / "Trip" / "img_0001.jpg")
    scan_paths(cat, {root.id: ["Trip/IMG_0001.JPG", "Trip/img_0001.jpg"]})
    assert _rows(cat) == {"Trip/img_0001.jpg": pid}
    # the folder too, then a full scan
    os.rename(lib / "Trip", lib / "trip")
    report = scan_library(cat)
    assert (report.added, report.removed) == (0, 0)
    assert _rows(cat) == {"trip/img_0001.jpg": pid}
    # an event that spells it the old way changes nothing
    scan_paths(cat, {root.id: ["TRIP/IMG_0001.JPG"]})
    assert _rows(cat) == {"trip/img_0001.jpg": pid}
    assert cat.photo_id_for_path(lib / "trip" / "img_0001.jpg") == pid
    if pp.name_rules(lib).fold_case:
        assert (lib / "TRIP" / "IMG_0001.JPG").exists()  # the alias the fix is about


def test_watcher_follows_a_case_only_rename(library: Path, cat: Catalog) -> None:
    """The real folder watcher (native events, or polling where it picks that for the file
    system) sees IMG_0002.JPG renamed to img_0002.jpg: one row, the same id."""
    from photoorg.core.ingest.watcher import LibraryWatcher

    _jpeg(library / "IMG_0002.JPG", seed=2)
    _jpeg(library / "other.jpg", seed=3)
    cat.add_root(library)
    scan_library(cat)
    before = _rows(cat)
    watcher = LibraryWatcher(cat.path, None, settle_s=0.3, offline_check_s=0.3)
    watcher.start()
    try:
        assert watcher.wait_until_idle(30)
        os.rename(library / "IMG_0002.JPG", library / "img_0002.jpg")
        deadline = time.monotonic() + 30
        while "img_0002.jpg" not in _rows(cat) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert watcher.wait_until_idle(30, quiet_s=1.5)
    finally:
        watcher.stop()
    assert _rows(cat) == {"img_0002.jpg": before["IMG_0002.JPG"], "other.jpg": before["other.jpg"]}


def test_root_typed_in_another_case_is_the_same_root(library: Path, cat: Catalog) -> None:
    """'~/pictures' typed for '~/Pictures' (macOS, Windows): one root, stored as the disk
    spells it, so the watcher's event paths fall under it."""
    (library / "Pictures").mkdir(parents=True)
    root = cat.add_root(library / "Pictures")
    pp.forget_name_rules()
    if not pp.name_rules(library).fold_case:
        assert cat.root_by_path(library / "pictures") is None  # another (absent) folder
        return
    typed = cat.add_root(library / "PICTURES")
    assert typed.id == root.id and len(cat.roots()) == 1
    found = cat.root_by_path(library / "pictures")
    assert found is not None and found.id == root.id
    assert cat.roots()[0].path.name == "Pictures"
