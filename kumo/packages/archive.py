"""Package directories to zip archives and back, deterministically and checked.

``archive_directory`` gives the same bytes for the same tree (sorted names, fixed timestamps, the
executable bit kept), so a package's archive has a stable SHA-256: the code store's address.
``extract_archive`` checks every entry as a Lambda deployment package (``kumo.packages.plan``: no
absolute names, no ``..``, no symlinks, the 50 MB / 250 MB limits) before writing anything.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

from kumo.packages.build import read_directory
from kumo.packages.plan import PackageError, check_zip_entry, check_zip_sizes

#: Zip's earliest timestamp: every entry gets it, so archives do not depend on file times.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def archive_directory(root: Path) -> bytes:
    """A deterministic zip of every regular file under ``root`` (modes 0o555 / 0o444)."""
    source = read_directory(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(source.files):
            info = zipfile.ZipInfo(name, _EPOCH)
            mode = 0o555 if name in source.executables else 0o444
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.files[name])
    return buffer.getvalue()


def extract_archive(data: bytes, dest: Path) -> int:
    """Check then extract ``data`` into ``dest`` (later files replace earlier ones); the file count.

    Executable entries become 0o555, the others 0o444. Raises :class:`PackageError` naming the
    entry or the size when the archive is refused by the checks (nothing is written then) or a
    member cannot be read (callers verify the archive's SHA-256 first, so that means a bad upload).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise PackageError(f"not a readable zip: {exc}") from exc
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        problem = check_zip_sizes(len(data), sum(info.file_size for info in infos))
        for info in infos:
            problem = problem or check_zip_entry(info.filename, stat.S_ISLNK(info.external_attr >> 16))
        if problem:
            raise PackageError(problem)
        dest.mkdir(parents=True, exist_ok=True)
        for info in infos:
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                target.unlink()
            try:
                target.write_bytes(archive.read(info))
            except (zipfile.BadZipFile, OSError) as exc:  # e.g. a CRC error in a tampered member
                raise PackageError(f"zip entry {info.filename!r}: {exc}") from exc
            os.chmod(target, 0o555 if (info.external_attr >> 16) & 0o111 else 0o444)
        return len(infos)
