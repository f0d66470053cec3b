"""The optional compiled wire layer: same classes, and the pure-Python fallback.

setup.py compiles a few modules with Cython, using the attribute declarations
of their .pxd files. The whole suite runs twice (``make test``): once with the
compiled modules and once with ``SQUALL_PURE_PYTHON=1``; these tests pin the
switch itself and the declarations' agreement with the classes.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import squall
from squall import _compiled

ROOT = Path(__file__).resolve().parents[2]
# module -> the class its .pxd turns into an extension type
DECLARED = {
    "squall.http.protocol": "HTTP1ServerProtocol",
    "squall.http.cycle": "RequestCycle",
    "squall.http.request": "HTTPServerRequest",
    "squall.web.application": "_RequestDispatcher",
}


def _declared_attributes(pxd: Path, class_name: str) -> set[str]:
    text = pxd.read_text()
    body = text.split(f"cdef class {class_name}:", 1)[1]
    return set(re.findall(r"^    cdef public \w+ (\w+)$", body, re.MULTILINE))


@pytest.mark.parametrize("module_name", sorted(DECLARED))
def test_pxd_declares_exactly_the_slots_of_its_class(module_name: str) -> None:
    module = importlib.import_module(module_name)
    cls = getattr(module, DECLARED[module_name])
    pxd = ROOT / (module_name.replace(".", "/") + ".pxd")
    assert _declared_attributes(pxd, cls.__name__) == set(cls.__slots__)


def test_setup_py_builds_exactly_the_modules_the_import_switch_knows() -> None:
    setup = (ROOT / "setup.py").read_text()
    built = re.search(r"COMPILED_MODULES = \[(.*?)\]", setup, re.DOTALL)
    assert built is not None
    paths = re.findall(r'"([\w/]+)\.py"', built.group(1))
    assert sorted(p.replace("/", ".") for p in paths) == sorted(_compiled.MODULES)
    assert sorted(DECLARED) == sorted(_compiled.MODULES)


def _import_report(env: dict[str, str], root: Path = ROOT) -> str:
    code = (
        "import squall, squall.http.protocol as p, squall.web.application as a;"
        "print(sorted(squall.COMPILED), p.__file__.rsplit('.', 1)[1],"
        " a.__file__.rsplit('.', 1)[1])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(root), **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_pure_python_switch_loads_every_module_from_source() -> None:
    assert _import_report({"SQUALL_PURE_PYTHON": "1"}) == "[] py py"
    if os.environ.get("SQUALL_PURE_PYTHON"):
        assert not squall.COMPILED


def test_built_modules_load_compiled_unless_switched_off() -> None:
    if os.environ.get("SQUALL_PURE_PYTHON"):
        pytest.skip("this run is the pure-Python one (SQUALL_PURE_PYTHON is set)")
    if any(_compiled.compiled_file(module) is None for module in _compiled.MODULES):
        pytest.skip("squall's compiled modules were not built (no Cython or C compiler)")
    report = _import_report({"SQUALL_PURE_PYTHON": ""})
    assert report == f"{sorted(_compiled.MODULES)} so so"
    assert sorted(squall.COMPILED) == sorted(_compiled.MODULES)


def test_a_source_edited_after_the_build_is_loaded_instead_of_the_stale_binary(
    tmp_path: Path,
) -> None:
    binary = _compiled.compiled_file("squall.http.protocol")
    if binary is None:
        pytest.skip("squall's compiled modules were not built (no Cython or C compiler)")
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "squall", copy / "squall",
                    ignore=shutil.ignore_patterns("__pycache__", "*.c"))
    source = copy / "squall" / "http" / "protocol.py"
    later = time.time() + 10
    os.utime(source, (later, later))
    report = _import_report({"SQUALL_PURE_PYTHON": ""}, root=copy)
    compiled, protocol_suffix, application_suffix = report.rsplit(" ", 2)
    assert "squall.http.protocol" not in compiled
    assert "squall.web.application" in compiled
    assert (protocol_suffix, application_suffix) == ("py", "so")
