"""The master process: keep N workers serving, restart the ones that die, roll on HUP.

Every listening socket is bound once here and inherited by the workers (see
:mod:`squall.process.listeners`): in per-port mode instance *i* gets the socket for
``port + i``, in shared-socket mode all get the one socket. Because the supervisor
keeps its copies, a port never closes while workers come and go.

Signals:

- TERM, INT: graceful stop. Workers stop accepting, drain in-flight requests for up
  to ``graceful_timeout`` and exit; the supervisor closes its sockets at once (new
  connections are refused once every worker has closed its copy), waits, exits 0.
  A worker still alive ``KILL_GRACE`` seconds after its drain deadline is killed.
- HUP: rolling restart, one instance at a time: start the replacement on the same
  socket, wait until it reports ready, then TERM the old one (it drains in the
  background). Old and new accept from one kernel queue, so no connection is refused
  or reset; requests in flight on the old worker finish there.
- QUIT: immediate stop. USR1: reopen the log file (and tell the workers to).

A worker that dies is restarted: at once if it had been serving for
``HEALTHY_UPTIME`` seconds, otherwise after an exponential back-off, so one that
dies at start-up does not spin. A worker that cannot even be started (the
interpreter is not executable by ``--user``, say) is retried the same way.

Given a :class:`StartupListener` (the daemon's report to ``squall serve --daemon``),
the supervisor calls ``ok()`` only once every instance's first worker is ready, and
``fail(message)`` and stops if one cannot be started or exits before it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from typing import Protocol

from squall.process.daemon import try_reopen_log

log = logging.getLogger("squall.process.supervisor")

HEALTHY_UPTIME = 1.0
BACKOFF_BASE = 0.25
BACKOFF_MAX = 30.0
KILL_GRACE = 5.0


class StartupListener(Protocol):
    """Told once whether the first workers came up (``squall.process.daemon.StartupReport``)."""

    def ok(self) -> None: ...

    def fail(self, message: str) -> None: ...


@dataclass(frozen=True)
class SupervisorConfig:
    """What the supervisor runs; ``per_port`` False means one shared socket."""

    app: str
    instances: int
    per_port: bool
    graceful_timeout: float = 30.0
    ready_timeout: float = 60.0
    log_file: str | None = None
    debug: bool = False


class _Worker:
    __slots__ = ("outcome", "proc", "ready", "ready_fd", "retiring", "slot", "started")

    def __init__(self, slot: _Slot, proc: subprocess.Popen[bytes], ready_fd: int) -> None:
        self.slot = slot
        self.proc = proc
        self.ready_fd = ready_fd
        self.started = asyncio.get_running_loop().time()
        self.ready = False
        self.retiring = False
        # True once ready, False if it exited first.
        self.outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def describe(self) -> str:
        return f"worker {self.slot.index} (pid {self.proc.pid})"


class _Slot:
    __slots__ = ("current", "failures", "index", "last_error", "pending", "restart", "sockets")

    def __init__(self, index: int, sockets: list[socket.socket]) -> None:
        self.index = index
        self.sockets = sockets
        self.current: _Worker | None = None
        self.pending: _Worker | None = None  # the replacement during a rolling restart
        self.failures = 0
        self.restart: asyncio.TimerHandle | None = None
        self.last_error: str | None = None  # why the last attempt to start a worker failed


def exit_reason(returncode: int) -> str:
    """'exited with code N' or 'killed by SIGNAME', for the log line about a death."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exited with code {returncode}"


class Supervisor:
    """Run ``config.instances`` workers on ``sockets`` until told to stop."""

    def __init__(self, config: SupervisorConfig, sockets: list[socket.socket]) -> None:
        expected = config.instances if config.per_port else 1
        if len(sockets) != expected:
            raise ValueError(f"expected {expected} listening sockets, got {len(sockets)}")
        self.config = config
        self._sockets = sockets
        if config.per_port:
            self._slots = [_Slot(i, [s]) for i, s in enumerate(sockets)]
        else:
            self._slots = [_Slot(i, sockets) for i in range(config.instances)]
        self._workers: set[_Worker] = set()
        self._stopping = False
        self._reload_task: asyncio.Task[None] | None = None
        self._reload_again = False
        self._done: asyncio.Event | None = None

    def run(self, started: StartupListener | None = None) -> int:
        """Block until stopped by a signal; return the exit status.

        With ``started``, report whether every instance became ready; if one did
        not, stop the others and return 1.
        """
        return asyncio.run(self._main(started))

    async def _main(self, started: StartupListener | None) -> int:
        loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, self._stop, True)
        loop.add_signal_handler(signal.SIGINT, self._stop, True)
        loop.add_signal_handler(signal.SIGQUIT, self._stop, False)
        loop.add_signal_handler(signal.SIGHUP, self._request_reload)
        loop.add_signal_handler(signal.SIGCHLD, self._reap)
        loop.add_signal_handler(signal.SIGUSR1, self._reopen_logs)
        log.info(
            "supervisor pid %d: %d instance(s) of %s, %s",
            os.getpid(),
            self.config.instances,
            self.config.app,
            "per-port" if self.config.per_port else "shared socket",
        )
        for slot in self._slots:
            self._respawn(slot)
        reaper = loop.create_task(self._reap_periodically())
        status = 0
        if started is not None:
            failure = await self._first_start_failure()
            if failure is None:
                started.ok()
            else:
                started.fail(failure)  # also written to the log file
                self._stop(False)
                status = 1
        await self._done.wait()
        reaper.cancel()
        log.info("supervisor stopped")
        return status

    async def _first_start_failure(self) -> str | None:
        """Why the first worker of some instance is not serving, or None once all are."""
        # Taken before the first await: a worker that dies meanwhile leaves its slot.
        firsts = [(slot, slot.current) for slot in self._slots]
        for slot, worker in firsts:
            if worker is None:
                return f"cannot start worker {slot.index}: {slot.last_error}; see the log file"
            try:
                ready = await asyncio.wait_for(
                    asyncio.shield(worker.outcome), self.config.ready_timeout
                )
            except TimeoutError:
                return (f"{worker.describe()} was not ready after "
                        f"{self.config.ready_timeout:g}s; see the log file")
            if not ready:
                code = worker.proc.returncode
                how = exit_reason(code) if code is not None else "exited"
                return f"{worker.describe()} {how} before it was ready; see the log file"
        return None

    # -- workers ----------------------------------------------------------------

    def _spawn(self, slot: _Slot) -> _Worker:
        read_fd, write_fd = os.pipe()
        fds = [s.fileno() for s in slot.sockets]
        cmd = [
            sys.executable, "-m", "squall.process", self.config.app,
            "--ready-fd", str(write_fd),
            "--graceful-timeout", str(self.config.graceful_timeout),
        ]
        for fd in fds:
            cmd += ["--fd", str(fd)]
        if self.config.log_file:
            cmd += ["--log-file", self.config.log_file]
        if self.config.debug:
            cmd.append("--debug")
        env = dict(os.environ, SQUALL_INSTANCE=str(slot.index))
        try:
            proc = subprocess.Popen(cmd, pass_fds=[write_fd, *fds], env=env, stdin=subprocess.DEVNULL)
        finally:
            os.close(write_fd)
        worker = _Worker(slot, proc, read_fd)
        self._workers.add(worker)
        asyncio.get_running_loop().add_reader(read_fd, self._on_ready_pipe, worker)
        log.info("started %s", worker.describe())
        return worker

    def _on_ready_pipe(self, worker: _Worker) -> None:
        try:
            data = os.read(worker.ready_fd, 16)
        except OSError:
            data = b""
        if data and not worker.ready:
            worker.ready = True
            if not worker.outcome.done():
                worker.outcome.set_result(True)
            log.info("%s is ready", worker.describe())
        if not data:
            self._close_ready_pipe(worker)

    def _close_ready_pipe(self, worker: _Worker) -> None:
        if worker.ready_fd >= 0:
            asyncio.get_running_loop().remove_reader(worker.ready_fd)
            os.close(worker.ready_fd)
            worker.ready_fd = -1

    async def _reap_periodically(self) -> None:
        # SIGCHLD can coalesce; a slow poll makes sure no death goes unnoticed.
        while True:
            await asyncio.sleep(1.0)
            self._reap()

    def _reap(self) -> None:
        for worker in list(self._workers):
            if worker.proc.poll() is not None:
                self._on_exit(worker)

    def _on_exit(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        self._close_ready_pipe(worker)
        if not worker.outcome.done():
            worker.outcome.set_result(False)
        returncode = worker.proc.returncode
        if returncode is None:
            return
        slot = worker.slot
        if self._stopping or worker.retiring:
            log.info("%s %s", worker.describe(), exit_reason(returncode))
            self._maybe_done()
            return
        if slot.pending is worker:
            log.error("replacement %s %s before it was ready", worker.describe(), exit_reason(returncode))
            return  # the rolling restart sees the outcome and keeps the old worker
        if slot.current is not worker:
            return
        slot.current = None
        now = asyncio.get_running_loop().time()
        uptime = now - worker.started
        if worker.ready and uptime >= HEALTHY_UPTIME:
            slot.failures = 0
            delay = 0.0
        else:
            delay = self._backoff(slot)
        log.warning(
            "%s %s after %.1fs; restarting in %.2fs",
            worker.describe(), exit_reason(returncode), uptime, delay,
        )
        if slot.pending is None:
            slot.restart = asyncio.get_running_loop().call_later(delay, self._respawn, slot)

    @staticmethod
    def _backoff(slot: _Slot) -> float:
        slot.failures += 1
        return min(BACKOFF_BASE * 2.0 ** (slot.failures - 1), BACKOFF_MAX)

    def _respawn(self, slot: _Slot) -> None:
        slot.restart = None
        if self._stopping or slot.current is not None or slot.pending is not None:
            return
        try:
            slot.current = self._spawn(slot)
        except OSError as exc:
            slot.last_error = str(exc)
            delay = self._backoff(slot)
            log.error("cannot start worker %d: %s; retrying in %.2fs", slot.index, exc, delay)
            slot.restart = asyncio.get_running_loop().call_later(delay, self._respawn, slot)

    # -- signals ----------------------------------------------------------------

    def _stop(self, graceful: bool) -> None:
        if self._stopping and graceful:
            return  # already draining; QUIT still escalates
        first = not self._stopping
        self._stopping = True
        log.info("%s stop requested", "graceful" if graceful else "immediate")
        if self._reload_task is not None:
            self._reload_task.cancel()
        for slot in self._slots:
            if slot.restart is not None:
                slot.restart.cancel()
                slot.restart = None
        for worker in list(self._workers):
            with contextlib.suppress(ProcessLookupError):
                worker.proc.send_signal(signal.SIGTERM if graceful else signal.SIGQUIT)
        if first:
            # Our copies are the last ones once workers close theirs; closing them
            # now makes the ports refuse connections as soon as the drain is done.
            for sock in self._sockets:
                sock.close()
            deadline = self.config.graceful_timeout + KILL_GRACE
            asyncio.get_running_loop().call_later(deadline, self._kill_stragglers)
        self._maybe_done()

    def _kill_stragglers(self) -> None:
        for worker in list(self._workers):
            log.error("%s still running after its drain deadline; killing it", worker.describe())
            with contextlib.suppress(ProcessLookupError):
                worker.proc.kill()

    def _maybe_done(self) -> None:
        if self._stopping and not self._workers and self._done is not None:
            self._done.set()

    def _reopen_logs(self) -> None:
        if self.config.log_file and try_reopen_log(self.config.log_file, log):
            log.info("reopened log file %s", self.config.log_file)
        for worker in list(self._workers):
            with contextlib.suppress(ProcessLookupError):
                worker.proc.send_signal(signal.SIGUSR1)

    def _request_reload(self) -> None:
        if self._stopping:
            return
        if self._reload_task is not None and not self._reload_task.done():
            log.info("rolling restart already in progress; another will follow it")
            self._reload_again = True
            return
        self._reload_task = asyncio.get_running_loop().create_task(self._rolling_restart())

    async def _rolling_restart(self) -> None:
        log.info("rolling restart of %d instance(s)", len(self._slots))
        for slot in self._slots:
            if self._stopping:
                return
            if slot.restart is not None:
                slot.restart.cancel()
                slot.restart = None
            try:
                new = self._spawn(slot)
            except OSError as exc:
                log.error("rolling restart aborted: cannot start a replacement for worker %d: %s",
                          slot.index, exc)
                return
            slot.pending = new
            try:
                ready = await asyncio.wait_for(asyncio.shield(new.outcome), self.config.ready_timeout)
            except TimeoutError:
                ready = False
            finally:
                slot.pending = None
            if not ready:
                log.error("rolling restart aborted: %s did not become ready", new.describe())
                if new in self._workers:
                    new.retiring = True
                    new.proc.terminate()
                if slot.current is None and slot.restart is None:
                    self._respawn(slot)
                return
            old, slot.current = slot.current, new
            if old is not None and old in self._workers:
                old.retiring = True
                log.info("draining %s, replaced by %s", old.describe(), new.describe())
                with contextlib.suppress(ProcessLookupError):
                    old.proc.send_signal(signal.SIGTERM)
        log.info("rolling restart complete")
        self._reload_task = None
        if self._reload_again:
            self._reload_again = False
            self._request_reload()
