"""When a service of the local stack stops, `mitl run` says why: the exit code, the last
exception in its log (a refused configuration names what to change), and the log."""

from __future__ import annotations

from pathlib import Path

from mitl_cli.stack import exit_message

TRACEBACK = """INFO:     Waiting for application startup.
ERROR:    Traceback (most recent call last):
  File "/x/champions.py", line 41, in ensure_champions
    raise RegistrationError(
mitl_inference.registration.RegistrationError: dataset 'copy': its model /m is a bundle for 'a'

ERROR:    Application startup failed. Exiting.
"""


def test_the_last_exception_of_the_log_is_named(tmp_path: Path) -> None:
    log = tmp_path / "inference.log"
    log.write_text("ValueError: an earlier one\n" + TRACEBACK)
    assert exit_message("inference", 3, log) == (
        "inference exited with 3: mitl_inference.registration.RegistrationError: dataset "
        f"'copy': its model /m is a bundle for 'a'\n(see {log})"
    )


def test_without_an_exception_or_a_log_only_the_code_and_the_log(tmp_path: Path) -> None:
    quiet = tmp_path / "router.log"
    quiet.write_text("INFO: started\nINFO: stopping\n")
    assert exit_message("router", -9, quiet) == f"router exited with -9\n(see {quiet})"
    missing = tmp_path / "none.log"
    assert exit_message("audit", 1, missing) == f"audit exited with 1\n(see {missing})"
