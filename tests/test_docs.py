"""The README documents every option the command has."""

from __future__ import annotations

import dataclasses
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import typer.main

from conftest import BUNDLED_REFDATA, ROOT
from vigil.cli.main import app


def test_every_hash_option_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    command = typer.main.get_command(app)
    hash_cmd = command.commands["hash"]  # type: ignore[attr-defined]
    options = [opt for p in hash_cmd.params if p.param_type_name == "option" for opt in p.opts if opt.startswith("--")]
    assert options
    missing = [o for o in options if f"`{o}" not in readme]
    assert missing == []


def test_readme_quick_start_has_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["./dev demo", "./dev test"]
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec ./dev test")


def _options(command: object) -> list[str]:
    params = command.params  # type: ignore[attr-defined]
    return [opt for p in params if p.param_type_name == "option" for opt in p.opts if opt.startswith("--")]


def test_every_match_and_lists_option_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    command = typer.main.get_command(app)
    commands = command.commands  # type: ignore[attr-defined]
    checked = {"match": commands["match"]}
    checked.update({f"lists {name}": c for name, c in commands["lists"].commands.items()})
    assert set(checked) >= {"match", "lists import", "lists add-media", "lists ls", "lists show", "lists export",
                            "lists revoke", "lists set"}
    for name, cmd in checked.items():
        assert f"lists {name.split()[-1]}" in readme or name == "match"
        for opt in _options(cmd):
            bare = opt.split("/")[0]
            assert f"`{bare}" in readme, f"{name} {opt} is not documented in README.md"


def test_every_list_setting_is_in_the_readme() -> None:
    from vigil.lists.settings import SETTINGS

    readme = (ROOT / "README.md").read_text()
    for s in SETTINGS:
        assert f"| `{s.name}` | {s.default:g} |" in readme


def test_every_scan_demo_and_case_option_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    checked = {"scan": commands["scan"], "demo": commands["demo"]}
    checked.update({f"case {name}": c for name, c in commands["case"].commands.items()})
    assert set(checked) >= {"scan", "demo", "case verify", "case log"}
    for name, cmd in checked.items():
        assert f"vigil {name}" in readme, f"vigil {name} is not documented in README.md"
        for opt in _options(cmd):
            bare = opt.split("/")[0]
            assert f"`{bare}" in readme, f"{name} {opt} is not documented in README.md"


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
