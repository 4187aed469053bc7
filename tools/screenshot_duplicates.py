"""Render the Duplicates page and its trash confirmation into ``docs/screenshots/``.

A library of the sample portraits the app ships (``resources/samples/people``) plus copies of
one of them (a smaller export, a recompressed and an EXIF-rotated copy, a brightened edit),
indexed by the app itself with the bundled tiny model, which cannot tell the portraits
apart by its cosine: the page shows one group (the copies), and the confirmation shows the
photo kept and each one to be trashed as pictures. Captures ``duplicates-review.png`` and
``duplicates-confirm.png``::

    python tools/screenshot_duplicates.py [--out docs/screenshots]

Offscreen by default; under Xvfb (``xvfb-run -s "-screen 0 1600x1000x24" python
tools/screenshot_duplicates.py``) it uses the X11 platform.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshots import SIZE, settle, wait_for  # noqa: E402


def stage(photos: Path) -> None:
    from PIL import Image, ImageEnhance, ImageOps

    photos.mkdir(parents=True)
    for path in sorted((REPO / "resources" / "samples" / "people").glob("*.jpg")):
        with Image.open(path) as im:
            ImageOps.exif_transpose(im).convert("RGB").save(photos / path.name, quality=92)
    with Image.open(photos / "obama_1.jpg") as im:
        im = im.convert("RGB")
    w, h = im.size
    im.resize((w * 2 // 5, h * 2 // 5)).save(photos / "obama_1-export.jpg", quality=85)
    im.save(photos / "obama_1 (1).jpg", quality=45)
    exif = Image.Exif()
    exif[0x0112] = 6
    im.transpose(Image.Transpose.ROTATE_90).save(photos / "IMG_obama_rotated.jpg", quality=90,
                                                 exif=exif.tobytes())
    ImageEnhance.Brightness(im).enhance(1.3).save(photos / "obama_1-edited.jpg", quality=92)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from photoorg import config
    from photoorg.core.models.embedder import TEST_MODEL
    from photoorg.ui.app import create_application
    from photoorg.ui.main_window import MainWindow

    app = create_application()
    work = Path(tempfile.mkdtemp(prefix="photoorg-dupshots-"))
    os.environ[config.ENV_CACHE_DIR] = str(work / "cache")
    stage(work / "photos")
    from photoorg.core.store.catalog import Catalog

    (work / "data").mkdir()
    with Catalog(config.catalog_path(work / "data")) as cat:
        cat.add_root(work / "photos")
    window = MainWindow(work / "data", config.Settings(), model_spec=TEST_MODEL,
                        index_mode="thread", watch=False)
    window.errors.interactive = False
    window.resize(*SIZE)
    window.show()
    wait_for(app, lambda: window.photos.rowCount() == 8 and not window.controller.service.busy,
             timeout=300)
    window.sidebar.activate("duplicates")
    page = window.duplicates_page
    wait_for(app, lambda: page.cards, timeout=60)
    settle(app, 1.5)
    window.grab().save(str(out / "duplicates-review.png"))
    print(out / "duplicates-review.png")
    page.cards[0].trash_button.click()
    wait_for(app, lambda: page.confirmation is not None and page.confirmation.isVisible())
    dialog = page.confirmation
    wait_for(app, lambda: all(dialog.shown_files().values()), timeout=30)
    settle(app, 0.8)
    dialog.grab().save(str(out / "duplicates-confirm.png"))
    print(out / "duplicates-confirm.png")
    dialog.reject()
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
