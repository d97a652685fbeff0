"""The evidence walk says which rows are symbolic links by a field, not by the words of their text."""

from __future__ import annotations

from pathlib import Path

from vigil.evidence.walk import Entry, walk_evidence
from vigil.scan.reading import ReadOptions, ReadSpec, ReadTask, read_entry


def _kinds(entry: Entry) -> list[str]:
    """The kinds of the rows a scan's worker makes of one walk entry."""
    context = ReadSpec(ReadOptions()).build()
    return [item.kind for part in read_entry(context, ReadTask(entry)) for item in part.items]


def test_link_rows_are_marked_and_read_as_links(tmp_path: Path) -> None:
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.txt").write_bytes(b"a")
    (ev / "broken").symlink_to(tmp_path / "nowhere")
    (ev / "loop-a").symlink_to("loop-b")
    (ev / "loop-b").symlink_to("loop-a")
    (ev / "to-a").symlink_to("a.txt")
    rows = {Path(e.path).name: e for e in walk_evidence([str(ev)])}
    assert not rows["a.txt"].link and rows["a.txt"].error is None
    for name in ("broken", "loop-a", "loop-b", "to-a"):
        assert rows[name].link and "symbolic link" in str(rows[name].error), name
    assert _kinds(rows["to-a"]) == ["other"]


def test_the_kind_of_a_row_comes_from_the_field_not_its_words() -> None:
    words = Entry("ev/x", 0, "cannot open: a symbolic link (to 'y') that went away", link=False)
    assert _kinds(words) == ["error"]
    link = Entry("ev/l", 0, "a link: not followed", link=True)
    assert _kinds(link) == ["other"]
