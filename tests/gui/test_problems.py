"""What failed shows in the window: the status bar and the Couldn't read page list it, one
line per cause (issue 24). The failure is injected into the window's own indexing run."""

from __future__ import annotations

from pathlib import Path

from guitools import make_window, needs_tiny, open_entry

pytestmark = needs_tiny


def test_a_failed_face_pass_shows_in_the_status_bar_and_couldnt_read(
    qtbot, library, monkeypatch  # noqa: ANN001
) -> None:
    from photoorg.core.people.faces import FaceAnalyzer

    real = FaceAnalyzer.analyze

    def flaky(self: FaceAnalyzer, path: str | Path) -> list:
        if Path(path).name in ("red_circle_0.jpg", "blue_star_1.jpg"):
            raise RuntimeError("dlib ran out of something")
        return real(self, path)

    monkeypatch.setattr(FaceAnalyzer, "analyze", flaky)
    messages: list[str] = []
    window = make_window(qtbot, library, faces=True)
    window.statusBar().messageChanged.connect(messages.append)
    try:
        qtbot.waitUntil(lambda: any("2 not done yet" in m for m in messages), timeout=180_000)
        open_entry(qtbot, window, "unreadable")
        page = window.unreadable_page
        assert window.stack.currentWidget() is page
        qtbot.waitUntil(lambda: page.problem_lines() != [], timeout=10_000)
        (line,) = page.problem_lines()  # one line for the cause, not one per photo
        assert "faces: 2 photos: face detection failed (RuntimeError: dlib ran out" in line
        item = page.problems.topLevelItem(0)
        assert (item.text(0), item.text(2)) == ("Faces", "2")
        assert set(item.text(3).split(", ")) == {"red_circle_0.jpg", "blue_star_1.jpg"}
        assert page.problems.isVisible() and page.row_count() == 0  # nothing unreadable
    finally:
        window.shutdown()
    assert window.errors.shown == []
