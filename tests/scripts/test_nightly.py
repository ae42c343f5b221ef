"""scripts/nightly.sh: exit codes, locking, logging and atomic publishing.

Most tests put a stand-in for the ``auditbook`` command on the script's
path, which writes a page into ``--site-dir`` and exits with a chosen code,
so that they run in a second. One test runs the real demo build.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from auditbook.evidence import EvidenceStore

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "nightly.sh"
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000"

STAND_IN = """\
#!/usr/bin/env bash
# Stands in for auditbook: records its arguments, writes $PAGE into the
# folder after --site-dir unless RENDER=0, and exits with $EXIT.
printf '%s\\n' "$*" >> "$CALLS"
site=""
while (($#)); do
    if [[ $1 == --site-dir ]]; then site=$2; shift; fi
    shift
done
if [[ ${RENDER:-1} == 1 ]]; then
    mkdir -p "$site"
    printf '%s' "$PAGE" > "$site/index.html"
fi
exit "${EXIT:-0}"
"""


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    """Write the stand-in command and return its path."""
    command = tmp_path / "bin" / "auditbook"
    command.parent.mkdir()
    command.write_text(STAND_IN)
    command.chmod(0o755)
    return command


def nightly(
    tmp_path: Path, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the script with its folders in tmp_path and the given environment."""
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "AUDITBOOK_OUT": str(tmp_path / "evidence"),
        "AUDITBOOK_SITE_DIR": str(tmp_path / "site"),
        "CALLS": str(tmp_path / "calls.txt"),
        **env,
    }
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        cwd=cwd or tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def fake(stand_in: Path, **env: str) -> dict[str, str]:
    """Return the environment that runs the stand-in with the given settings."""
    return {"AUDITBOOK": str(stand_in), **env}


def calls(tmp_path: Path) -> list[str]:
    """Return the argument lines the stand-in recorded, one per call."""
    path = tmp_path / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


def staging_folders(tmp_path: Path) -> list[Path]:
    """Return the temporary site folders the script left behind."""
    return [path for path in tmp_path.glob(".site.*") if path.is_dir()]


def test_demo_build_exits_one_and_publishes(tmp_path):
    public = tmp_path / "public"

    result = nightly(tmp_path, cwd=REPO, AUDITBOOK_DEMO="1", PUBLISH_DIR=str(public))

    assert result.returncode == 1, result.stderr[-3000:]
    assert (public / "index.html").is_file()
    assert (public / "changes" / "index.html").is_file()
    assert public.is_symlink()
    assert (tmp_path / "site" / "audit-pack.pdf").is_file()
    assert (tmp_path / "site" / "evidence.xlsx").is_file()
    assert len(EvidenceStore(tmp_path / "evidence").run_ids()) == 1
    assert not staging_folders(tmp_path)
    assert re.search(rf"^{TIMESTAMP} INFO nightly: running ", result.stderr, re.M)
    assert re.search(rf"^{TIMESTAMP} INFO auditbook\.", result.stderr, re.M)
    assert re.search(
        rf"^{TIMESTAMP} WARNING nightly: controls failing", result.stderr, re.M
    )


@pytest.mark.parametrize("code", [0, 1, 2])
def test_exit_code_is_build_exit_code(tmp_path, stand_in, code):
    result = nightly(tmp_path, **fake(stand_in, EXIT=str(code), PAGE="night"))

    assert result.returncode == code
    assert (tmp_path / "site" / "index.html").read_text() == "night"


def test_demo_and_extra_arguments_reach_build(tmp_path, stand_in):
    nightly(tmp_path, "--fail-on", "critical", **fake(stand_in, AUDITBOOK_DEMO="1"))

    [line] = calls(tmp_path)
    assert line.startswith("--config mkdocs.yml build --site-dir ")
    assert line.endswith(f"--out {tmp_path / 'evidence'} --demo --fail-on critical")


def test_evidence_folder_defaults_to_config(tmp_path, stand_in):
    result = nightly(tmp_path, **fake(stand_in, AUDITBOOK_OUT=""))

    [line] = calls(tmp_path)
    assert result.returncode == 0
    assert "--out" not in line


def test_failed_render_keeps_previous_site(tmp_path, stand_in):
    public = tmp_path / "public"
    nightly(tmp_path, **fake(stand_in, PAGE="one", PUBLISH_DIR=str(public)))

    result = nightly(
        tmp_path, **fake(stand_in, RENDER="0", EXIT="2", PUBLISH_DIR=str(public))
    )

    assert result.returncode == 2
    assert "no site was rendered" in result.stderr
    assert (tmp_path / "site" / "index.html").read_text() == "one"
    assert (public / "index.html").read_text() == "one"
    assert not staging_folders(tmp_path)


def test_missing_site_with_exit_zero_is_error(tmp_path, stand_in):
    result = nightly(tmp_path, **fake(stand_in, RENDER="0", EXIT="0"))

    assert result.returncode == 2


def test_publish_switches_link_and_prunes(tmp_path, stand_in):
    public = tmp_path / "public"
    releases = tmp_path / ".public.releases"

    for page in ("one", "two", "three"):
        result = nightly(
            tmp_path,
            **fake(stand_in, PAGE=page, PUBLISH_DIR=str(public), PUBLISH_KEEP="2"),
        )
        assert result.returncode == 0, result.stderr

    remaining = sorted(path.name for path in releases.iterdir())
    assert (public / "index.html").read_text() == "three"
    assert public.is_symlink()
    assert len(remaining) == 2
    assert os.readlink(public) == f".public.releases/{remaining[-1]}"
    assert (releases / remaining[0] / "index.html").read_text() == "two"


def test_publish_replaces_plain_folder(tmp_path, stand_in):
    public = tmp_path / "public"
    public.mkdir()
    (public / "index.html").write_text("by hand")

    result = nightly(tmp_path, **fake(stand_in, PAGE="new", PUBLISH_DIR=str(public)))

    [replaced] = (tmp_path / ".public.releases").glob("replaced-*")
    assert result.returncode == 0
    assert public.is_symlink()
    assert (public / "index.html").read_text() == "new"
    assert (replaced / "index.html").read_text() == "by hand"
    assert "is a folder, not a symlink" in result.stderr


def test_second_nightly_stops_at_lock(tmp_path, stand_in):
    with (tmp_path / ".site.nightly.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = nightly(tmp_path, **fake(stand_in))

    assert result.returncode == 2
    assert "another nightly run holds" in result.stderr
    assert calls(tmp_path) == []


def test_collect_by_hand_is_reported(tmp_path, stand_in):
    store = EvidenceStore(tmp_path / "evidence")
    with store.lock():
        result = nightly(tmp_path, **fake(stand_in))

    assert result.returncode == 2
    assert "another auditbook run is writing to" in result.stderr
    assert calls(tmp_path) == []


def test_invalid_publish_keep_is_rejected(tmp_path, stand_in):
    result = nightly(tmp_path, **fake(stand_in, PUBLISH_KEEP="0"))

    assert result.returncode == 2
    assert "PUBLISH_KEEP is '0'" in result.stderr
    assert calls(tmp_path) == []


def test_script_lines_are_timestamped(tmp_path, stand_in):
    result = nightly(tmp_path, **fake(stand_in, EXIT="1"))

    lines = result.stderr.splitlines()
    assert lines
    for line in lines:
        assert re.match(rf"{TIMESTAMP} (INFO|WARNING|ERROR) nightly: ", line), line
