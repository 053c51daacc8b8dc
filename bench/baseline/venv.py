"""The baseline's own virtual environment: `ensure_venv()` builds it once and returns its python.

pysnow is unmaintained (0.7.17, 2020) and caps old releases of what it needs, so it lives in
`bench/baseline/.venv`, never in the project's environment. What installs on Python 3.11,
pinned in `requirements.txt`:

- ijson 2.6.1 (pysnow wants <3): no wheel for 3.11, pip builds it from the sdist (pure Python
  backend; the yajl C backends are optional and not needed). pysnow only uses ijson for
  `stream=True` responses; the baseline reads buffered pages.
- python-magic 0.4.27 (pysnow wants <0.5): installs anywhere; at import it looks for the system
  libmagic (Debian `libmagic1`). Without it the import fails and pysnow itself catches that and
  warns that attachment content types fall back to text/plain: the baseline sends no attachment.
- pytz 2019.3 and requests-oauthlib 1.3.1 as pysnow caps them; python-jira 3.10.5 as the project
  pins it, with the same requests.

The venv is rebuilt only when `requirements.txt` changes: the hash of the requirements it was
built from is kept in the venv (`.requirements.sha256`) and written last, so a build that failed
half way is redone next time.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
VENV = HERE / ".venv"
STAMP = ".requirements.sha256"


def requirements_hash(path: Path = REQUIREMENTS) -> str:
    """sha256 of the requirements file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def venv_python(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path = VENV, requirements: Path = REQUIREMENTS) -> Path:
    """Path of the python of a venv holding `requirements`, building it when missing or stale.

    Safe to call from several processes at once: the build holds a lock file beside the venv.
    Raises `subprocess.CalledProcessError` when pip fails (it needs the package index).
    """
    wanted = requirements_hash(requirements)
    python = venv_python(venv)
    stamp = venv / STAMP
    if _built(python, stamp, wanted):
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / (venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may have built it while we waited
        if _built(python, stamp, wanted):
            return python
        if venv.exists():
            shutil.rmtree(venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
            check=True,
        )
        stamp.write_text(wanted + "\n", encoding="utf-8")
    return python


def _built(python: Path, stamp: Path, wanted: str) -> bool:
    return python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8").strip() == wanted


if __name__ == "__main__":
    print(ensure_venv())
