"""The README documents every option the command has, and only those; its examples run."""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import typer.main

from conftest import BUNDLED_REFDATA, ROOT
from helpers import commands, invoke
from vigil.cli.main import app


def test_readme_quick_start_has_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./dev demo", "./dev test"]
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec ./dev test")


_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def _flags(text: str) -> set[str]:
    """The flags named in ``text``'s inline code (`--list NAME`, `-l`), code blocks left out."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return {flag for span in re.findall(r"`([^`\n]+)`", text) for flag in _FLAG.findall(span)} - {"--help"}


def _between(text: str, start: str, end: str) -> str:
    assert start in text, start
    after = text.split(start, 1)[1]
    assert end in after, end
    return after.split(end, 1)[0]


def readme_options(readme: str, words: str) -> set[str]:
    """The options README gives a command (``words``, "" for ``vigil`` itself): its table, its row of
    the lists table, or its sentence. Groups and the case commands take none."""
    if words == "":
        return _flags(_between(readme, "## Quick start", "## Hashing files"))
    if words == "hash":
        return _flags(_between(readme, "## Hashing files", "### Output"))
    if words == "match":
        return _flags(_between(readme, "## Matching", "**How matching works.**"))
    if words == "scan":
        return _flags(_between(readme, "`vigil scan` options:", "Exit status"))
    if words == "demo":
        return _flags(_between(readme, "`vigil demo` (", ") builds"))
    if words.startswith("lists "):
        header = _between(readme, "| command | options", "\n")  # "each also takes `--db`"
        return _flags(header) | _flags(_between(readme, f"| `{words}` |", "\n"))
    if words == "serve" or words.startswith(("keys ", "users ", "audit ", "webhooks ")):
        header = _between(readme, "| service command | options", "\n")  # "each also takes `--db`"
        return _flags(header) | _flags(_between(readme, f"| `{words}` |", "\n"))
    return set()


def options_of(command: Any) -> set[str]:
    return {flag for p in command.params if p.param_type_name == "option"
            for flag in (*p.opts, *p.secondary_opts)}


def help_options(words: str) -> set[str]:
    """The options ``vigil WORDS --help`` prints (its usage line left out)."""
    proc = invoke(*words.split(), "--help", env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    text = "\n".join(line for line in proc.stdout.decode().splitlines() if "Usage:" not in line)
    return set(_FLAG.findall(text)) - {"--help"}


@pytest.mark.parametrize("words", sorted(commands()))
def test_the_readme_gives_every_option_the_help_prints_and_no_other(words: str) -> None:
    readme = (ROOT / "README.md").read_text()
    name = f"vigil {words}".strip()
    assert words in readme, f"{name} is not in README.md"
    options = options_of(commands()[words])
    assert help_options(words) == options, f"{name} --help names options it does not have, or leaves some out"
    documented = readme_options(readme, words)
    assert sorted(options - documented) == [], f"{name}: options missing from README.md"
    assert sorted(documented - options) == [], f"{name}: README.md gives options the command does not have"


def test_every_flag_in_the_readme_is_an_option_of_a_command() -> None:
    """In prose and in the example command lines: a removed flag leaves the docs."""
    readme = (ROOT / "README.md").read_text()
    found = commands()
    every = set().union(*(options_of(c) for c in found.values()))
    assert sorted(_flags(readme) - every) == []
    for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.S):
        for line in block.splitlines():
            if "vigil " not in line:
                continue
            words = line.split("#")[0].split("vigil ", 1)[1].split()
            command = next(" ".join(words[:n]) for n in (2, 1) if " ".join(words[:n]) in found)
            flags = {w.split("=")[0] for w in words if _FLAG.fullmatch(w.split("=")[0])}
            assert flags <= options_of(found[command]), line


def test_every_list_setting_is_in_the_readme() -> None:
    from vigil.lists.settings import SETTINGS

    readme = (ROOT / "README.md").read_text()
    for s in SETTINGS:
        assert f"| `{s.name}` | {s.default:g} |" in readme


def test_the_readmes_library_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    code = readme.split("## Library", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    photo = BUNDLED_REFDATA / "pdq-images/bridge-mods/square-512x512.jpg"
    shutil.copy(photo, tmp_path / "photo.jpg")
    shutil.copy(BUNDLED_REFDATA / "videos/pattern-sd-grey-bar.mp4", tmp_path / "clip.mp4")
    shutil.copy(ROOT / "tests/data/formats/ncmec_v2_entries_response.xml", tmp_path / "ncmec.xml")
    (tmp_path / "evidence").mkdir()
    shutil.copy(photo, tmp_path / "evidence" / "renamed.dat")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md (Library)", "exec"), namespace)
    assert namespace["outcome"].hits == 1  # the renamed copy of the listed photo
    assert "'list': 'ours'" in capsys.readouterr().out  # the photo matched by its listed md5


def test_list_settings_are_declared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """SETTINGS alone declares each setting's default: ListSettings, the --setting help and the README
    table (above) follow it. Changing a default in SETTINGS changes ListSettings' with it."""
    from vigil.lists import settings

    assert [f.name for f in dataclasses.fields(settings.ListSettings)] == [s.name for s in settings.SETTINGS]
    assert settings.ListSettings().as_dict() == {s.name: s.default for s in settings.SETTINGS}
    path = Path(settings.__file__)
    source = path.read_text()
    changed = source.replace('Setting("pdq_threshold", int, 31,', 'Setting("pdq_threshold", int, 29,')
    assert changed != source
    copy = types.ModuleType("vigil.lists._settings_copy")
    copy.__package__ = "vigil.lists"
    monkeypatch.setitem(sys.modules, copy.__name__, copy)
    exec(compile(changed, str(path), "exec"), copy.__dict__)
    assert copy.ListSettings().pdq_threshold == 29


def test_the_setting_option_names_every_setting_and_its_default() -> None:
    from vigil.lists.settings import SETTINGS

    lists = typer.main.get_command(app).commands["lists"].commands  # type: ignore[attr-defined]
    for name in ("import", "add-media", "set"):
        (option,) = [p for p in lists[name].params if "--setting" in p.opts]
        for s in SETTINGS:
            assert f"{s.name}={s.default:g}" in option.help, (name, s.name)
