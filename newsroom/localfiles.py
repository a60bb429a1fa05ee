"""Local files that hold secrets or every story (var/, the SQLite database): owner only.

A fresh checkout's umask (usually 022) would leave them readable by every account on the
machine; these set the modes on creation and tighten ones an older version created.
"""

import os
from pathlib import Path


def private_directory(path):
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is masked by the umask, and the folder may predate this rule.
    path.chmod(0o700)


def private_sqlite_file(name):
    """Create the SQLite database file 0600 before SQLite does, or tighten it."""
    name = str(name)
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.is_dir():
        return  # SQLite will say so, naming the path
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)
