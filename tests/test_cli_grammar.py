"""One grammar: an option means one thing in every command; every command has a run example."""

from __future__ import annotations

import argparse
import pathlib
import re
from collections import defaultdict

from conftest import ROOT, command_parsers

#: Options whose meaning in one command is a documented refinement of the shared one
#: (docs/cli.md, "One grammar"), with the reason. Anything else that differs fails.
ALLOWED = {
    ("--force", "keystore remove"): "the same 'do it although something is destroyed', "
                                    "for a key entry rather than a file",
}


def _signature(action: argparse.Action) -> tuple[object, ...]:
    """What an option means to a user and a script: destination, kind, type, value, help."""
    kind = type(action).__name__
    type_name = getattr(action.type, "__name__", action.type)
    return (action.dest, kind, type_name, action.metavar, action.default,
            tuple(action.choices or ()), action.help)


def test_every_option_means_one_thing() -> None:
    """The same option string has the same destination, type, default and help everywhere."""
    meanings: dict[str, dict[tuple[object, ...], list[str]]] = defaultdict(
        lambda: defaultdict(list))
    for command, parser in command_parsers().items():
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:  # an old spelling kept working, not grammar
                continue
            for option in action.option_strings:
                if option in ("-h", "--help") or (option, command) in ALLOWED:
                    continue
                meanings[option][_signature(action)].append(command)
    clashes = {option: {str(sig): commands for sig, commands in found.items()}
               for option, found in meanings.items() if len(found) > 1}
    assert not clashes, clashes
    assert len(meanings) > 20  # the test looked at the real parsers


def test_every_command_answers_in_json() -> None:
    """Every command takes --json."""
    missing = [name for name, parser in command_parsers().items()
               if not any("--json" in a.option_strings for a in parser._actions)]
    assert not missing


def test_trust_defaults_to_the_system_store_everywhere() -> None:
    """--trust is one repeatable STORE option whose absence means the system store."""
    users = {name: a for name, p in command_parsers().items() for a in p._actions
             if "--trust" in a.option_strings}
    assert len(users) >= 6
    for name, action in users.items():
        assert isinstance(action, argparse._AppendAction), name
        assert action.help is not None
        assert "default: the system trust store" in action.help, name
        assert "none" in action.help, name


def test_every_command_has_a_run_example() -> None:
    """docs/cli.md shows every command in a console block that the doc tests run."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    run = " ".join(line for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL)
                   for line in block.splitlines() if line.startswith("$ certkit "))
    missing = [name for name in command_parsers() if f"$ certkit {name} " not in run + " "]
    assert not missing, f"docs/cli.md runs no example of: {missing}"


def test_the_command_table_lists_every_command() -> None:
    """COMMANDS names exactly the commands and sub-commands the full parser has, in help
    order (a command with sub-commands is listed before them)."""
    from certkit.cli import COMMANDS

    parsers = list(command_parsers())
    listed = [name for name in COMMANDS if name in parsers]
    groups = [name for name in COMMANDS if name not in parsers]
    assert listed == parsers
    assert all(any(p.startswith(f"{g} ") for p in parsers) for g in groups), groups


def test_shared_options_are_defined_once() -> None:
    """Every option the command table gives a command is the very action object of its
    group's parent parser, and no command defines a group's option a second time."""
    from certkit.cli import COMMANDS
    from certkit.cli._options import GROUPS, parents

    group_options = {name: {o for a in parents((name,))[0]._actions for o in a.option_strings}
                     for name in GROUPS}
    for command, parser in command_parsers().items():
        groups = COMMANDS[command][1]
        shared = {id(a) for parent in parents(groups) for a in parent._actions}
        for action in parser._actions:
            owned = {g for g, opts in group_options.items() if set(action.option_strings) & opts}
            if owned and action.help != argparse.SUPPRESS and (
                    action.option_strings, command) != (["--force"], "keystore remove"):
                assert id(action) in shared, (command, action.option_strings, owned)


def test_a_run_imports_only_its_command_module(tmp_path: pathlib.Path) -> None:
    """`certkit inspect` imports its own command module and the shared ones, no other."""
    import subprocess
    import sys

    (tmp_path / "empty.pem").write_text("")
    code = ("import io, sys\nfrom certkit.cli import main\n"
            f"main(['inspect', {str(tmp_path / 'empty.pem')!r}], out=io.StringIO())\n"
            "print(sorted(m for m in sys.modules if m.startswith('certkit.cli.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    expected = ["certkit.cli._options", "certkit.cli._shell", "certkit.cli.core"]
    assert result.stdout.strip() == str(expected), result.stdout


def test_no_cli_module_imports_the_command_table() -> None:
    """Command modules and the shared ones import ``certkit.cli._shell``/``_options``, never
    the package itself, which imports them: the CLI's imports form no circle."""
    import ast

    def imports_package(node: ast.AST) -> bool:
        if isinstance(node, ast.ImportFrom):
            return node.module == "certkit.cli"
        return isinstance(node, ast.Import) and any(a.name == "certkit.cli" for a in node.names)

    offenders = [f"{path.name}:{node.lineno}"
                 for path in sorted((ROOT / "certkit" / "cli").glob("*.py"))
                 if path.name != "__init__.py"
                 for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if imports_package(node)]
    assert not offenders
