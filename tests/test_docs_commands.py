"""Every ``python -m ...`` command quoted in README.md and docs/*.md parses: its module exists and argparse accepts
its arguments (run in-process with ``--help`` appended, which stops before any work)."""
import contextlib
import importlib
import io
import pathlib
import re
import shlex

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_COMMAND = re.compile(r"python -m ([A-Za-z_][\w.]*)(.*)")


def _code_texts(text):
    """Inline code spans and fenced code blocks of a Markdown page, with backslash continuations joined."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S)
    rest = re.sub(r"```[^\n]*\n.*?```", "", text, flags=re.S)
    spans = re.findall(r"`([^`\n]+)`", rest)
    return [b.replace("\\\n", " ") for b in blocks] + spans


def _arguments(rest):
    """Shell words of a command line up to its end: a pipe, redirection, ``;``, ``&&`` or comment."""
    lexer = shlex.shlex(rest, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = []
    for word in lexer:
        if word and set(word) <= set("|&;<>()"):
            break
        words.append(word)
    return tuple(words)


def commands():
    """``(page, module, args)`` of every quoted ``python -m`` command."""
    found = []
    for page in PAGES:
        for code in _code_texts(page.read_text(encoding="utf-8")):
            for line in code.splitlines():
                for match in _COMMAND.finditer(line):
                    module, rest = match.group(1), match.group(2)
                    if module in ("pytest", "pip", "venv"):
                        continue
                    found.append((page.name, module, _arguments(rest)))
    return sorted(set(found))


COMMANDS = commands()
_ENTRY = {"theory": "theory.__main__", "bounds": "bounds.__main__", "figures": "figures.__main__",
          "empirical.images": "empirical.images.__main__"}


def test_the_pages_quote_commands():
    assert len(COMMANDS) >= 30
    assert {page for page, _, _ in COMMANDS} >= {"README.md", "rcc.md", "codec.md", "measured.md"}


@pytest.mark.parametrize("page,module,args", COMMANDS, ids=[f"{p}:{m} {' '.join(a)}"[:90] for p, m, a in COMMANDS])
def test_command_parses(page, module, args):
    main = importlib.import_module(_ENTRY.get(module, module)).main
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        with pytest.raises(SystemExit) as exc:
            main([*args, "--help"])
    assert exc.value.code == 0, f"{page}: python -m {module} {' '.join(args)}: {err.getvalue().strip()}"


def test_readme_python_example_runs():
    """The README's Python example runs as written (closed forms, one encode and decode with real bytes)."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1 and len(blocks[0].strip().splitlines()) <= 8
    scope = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)                      # noqa: S102 - our own README
    assert scope["x_hat"].shape == (64,) and isinstance(scope["blob"], bytes)
    assert float(scope["c"].mse_rd[0]) < float(scope["c"].mse_diffc_f[0])
