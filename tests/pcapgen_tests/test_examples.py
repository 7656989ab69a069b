"""The usage examples of the package docstring run as written."""

import textwrap
from pathlib import Path

import tests.pcapgen


def test_package_docstring_examples_run(tmp_path: Path) -> None:
    doc = tests.pcapgen.__doc__ or ""
    code = textwrap.dedent(doc.split("Examples::\n", 1)[1])
    ns: dict[str, object] = {"tmp_path": tmp_path}
    exec(compile(code, "tests/pcapgen/__init__.py:Examples", "exec"), ns)
    assert len(list(tmp_path.glob("*.pcap"))) == len(tests.pcapgen.ENCAPSULATIONS) + 1
    assert len(ns["frames"]) == 2  # type: ignore[arg-type]
