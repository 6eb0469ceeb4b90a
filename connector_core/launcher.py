"""Run the connectors' console scripts in processes forked from one that imported them once.

A connector process spends about two CPU seconds importing airbyte-cdk before it reads a record;
a test that runs dozens of scheduler rounds would spend most of its time there. ``PreloadedLauncher``
starts a fork server (``multiprocessing``'s ``forkserver``) that imports the connectors once; each run
is then a fresh process forked from it, with the console script's own entry point, its argv, stdin
and stdout, exit code and environment: what ``source-x read ... | destination-y write ...`` does,
minus the interpreter start. It is a drop-in for :func:`connector_core.runner.run_connector`.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path

from connector_core.runner import RunResult, parse_output

CONNECTOR_SCRIPTS = ("source-coperniq", "destination-quickbooks", "source-quickbooks", "destination-coperniq")


def _entry_point(script_name: str):
    found = entry_points(group="console_scripts", name=script_name)
    if not found:
        raise LookupError(f"no console script named {script_name!r} is installed")
    return next(iter(found))


def _run_script(script_name: str, argv: list[str], stdin_path: str, stdout_path: str, stderr_path: str,
                env: dict[str, str]) -> None:
    """The child: the console script's entry point with its own fds 0, 1 and 2, then exit with its code."""
    os.environ.clear()
    os.environ.update(env)
    for fd, path, mode in ((0, stdin_path, os.O_RDONLY), (1, stdout_path, os.O_WRONLY), (2, stderr_path, os.O_WRONLY)):
        opened = os.open(path, mode)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - multiprocessing replaced it with /dev/null
    sys.argv = [script_name, *argv]
    code: object = 0
    try:
        _entry_point(script_name).load()()
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:  # noqa: BLE001 - a crash is reported the way the interpreter would:
        sys.excepthook(*sys.exc_info())  # the CDK's hook prints it as a TRACE message, as in a process of its own
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


class PreloadedLauncher:
    """``launcher(args, stdin_lines, timeout, env)``: runs ``args[0]`` (a console script, by path or name)."""

    def __init__(self, preload: Iterable[str] = ("airbyte_cdk.entrypoint", "source_coperniq.run",
                                                  "destination_quickbooks.run", "source_quickbooks.run",
                                                  "destination_coperniq.run")) -> None:
        self.context = multiprocessing.get_context("forkserver")
        # The fork server is started at the first run; it imports these once, and every run forks from it.
        self.context.set_forkserver_preload([__name__, *preload])
        self.workdir = Path(tempfile.mkdtemp(prefix="launcher-"))
        self._runs = 0

    def __call__(self, args: list[str], stdin_lines: Iterable[str] | None = None, timeout: float = 900,
                 env: Mapping[str, str] | None = None) -> RunResult:
        self._runs += 1
        stdin_path, stdout_path, stderr_path = (self.workdir / f"{self._runs}.{name}" for name in ("in", "out", "err"))
        stdin_path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in stdin_lines or []))
        stdout_path.touch()
        stderr_path.touch()
        process = self.context.Process(target=_run_script, args=(
            Path(args[0]).name, list(args[1:]), str(stdin_path), str(stdout_path), str(stderr_path),
            {**os.environ, **(env or {})}))
        process.start()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            raise TimeoutError(f"{args[0]} ran longer than {timeout} s")
        result = RunResult(process.exitcode or 0, parse_output(stdout_path.read_text()), stderr_path.read_text())
        for path in (stdin_path, stdout_path, stderr_path):
            path.unlink()
        return result
