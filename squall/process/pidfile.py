"""A PID file that is also a lock: whoever holds the ``flock`` is the running instance.

The file's content only *names* a process; the lock proves it is alive. So a file
left behind by a SIGKILLed process (no lock held) is taken over safely, and nothing
here ever signals a process just because a PID file names it.

Rules this module keeps:

- The file is opened with ``O_CREAT`` and never truncated before the lock is held,
  so a contender cannot wipe the running instance's PID.
- The PID is written only after the lock is acquired.
- On release the file is removed only while it is still ours (same inode, our PID).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from types import TracebackType

#: How long a contender waits for the holder to write its PID before reporting.
_PID_WRITE_GRACE = 1.0


class PIDFileLocked(RuntimeError):
    """Another live process holds the PID file's lock."""

    def __init__(self, path: str, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        who = f"as PID {pid}" if pid is not None else "(PID not yet written)"
        super().__init__(f"already running {who} (pidfile {path})")


def _parse_pid(data: bytes) -> int | None:
    text = data.decode("ascii", "replace").strip()
    if not text.isdigit():
        return None
    pid = int(text)
    return pid if pid > 0 else None


def read_pid(path: str | os.PathLike[str]) -> int | None:
    """The PID the file names, or None when it is missing, empty or garbled."""
    try:
        with open(path, "rb") as f:
            return _parse_pid(f.read(64))
    except FileNotFoundError:
        return None


def is_locked(path: str | os.PathLike[str]) -> bool:
    """Whether a live process holds the file's lock (so the PID it names is running).

    Probes with a shared non-blocking lock that is dropped at once; a contender that
    tries to acquire in that instant sees the file as held and reports so.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe lock, if we got it
    return False


def _same_file(fd: int, path: str) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


class PIDFile:
    """An exclusive, process-lifetime lock on ``path`` that records the holder's PID.

    Use as a context manager or call :meth:`acquire` / :meth:`release`. The lock's
    descriptor is close-on-exec, and a forked child does not re-acquire it: release
    in the process that acquired (the PID written is ``os.getpid()`` at acquire).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self._fd: int | None = None
        self._pid: int | None = None

    @property
    def pid(self) -> int | None:
        """The PID written when acquired, or None while not held."""
        return self._pid

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock and write our PID; raise :class:`PIDFileLocked` if held."""
        if self._fd is not None:
            raise RuntimeError(f"PID file {self.path} is already held by this object")
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = self._wait_for_holder_pid(fd)
                os.close(fd)
                raise PIDFileLocked(self.path, pid) from None
            except BaseException:
                os.close(fd)
                raise
            # The previous holder may have unlinked the file between our open and
            # our flock; a lock on an unlinked inode guards nothing, so start over.
            if _same_file(fd, self.path):
                break
            os.close(fd)
        pid = os.getpid()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{pid}\n".encode("ascii"), 0)
        os.fsync(fd)
        self._fd = fd
        self._pid = pid

    @staticmethod
    def _wait_for_holder_pid(fd: int) -> int | None:
        # The holder writes its PID just after locking; give it a moment so the
        # contender's message can name it.
        deadline = time.monotonic() + _PID_WRITE_GRACE
        while True:
            pid = _parse_pid(os.pread(fd, 64, 0))
            if pid is not None or time.monotonic() >= deadline:
                return pid
            time.sleep(0.02)

    def release(self) -> None:
        """Remove the file if it is still ours, then drop the lock. Idempotent."""
        fd = self._fd
        if fd is None:
            return
        self._fd = None
        try:
            if _same_file(fd, self.path) and _parse_pid(os.pread(fd, 64, 0)) == self._pid:
                try:
                    os.unlink(self.path)
                except OSError as exc:
                    # After dropping privileges the directory may not be writable;
                    # the unlocked file left behind is taken over by the next start.
                    if exc.errno not in (errno.EACCES, errno.EPERM, errno.ENOENT):
                        raise
        finally:
            os.close(fd)
            self._pid = None

    def __enter__(self) -> PIDFile:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
