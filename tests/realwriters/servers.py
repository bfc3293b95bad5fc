"""Real programs that write into folders, run on loopback: a web server that sends slowly
and headless Chromium downloading from it, Samba (smbd + smbclient), vsftpd (+ curl), and
a bindfs FUSE mount. Each is a context manager that stops what it started.

Where a program is missing, :func:`require` skips the test — or fails it in CI (``CI=true``
or ``KOMPLIANT_REQUIRE_WRITERS=1``), where ``scripts/dev.py`` installs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest


def require(*programs: str) -> None:
    """Skip the test when a program is missing (fail in CI, where they are installed)."""
    missing = [p for p in programs if shutil.which(p) is None]
    if not missing:
        return
    message = f"not installed: {', '.join(missing)} (python3 scripts/dev.py test installs them)"
    if os.environ.get("CI") == "true" or os.environ.get("KOMPLIANT_REQUIRE_WRITERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a server started in a session of its own, with everything it forked."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- a web server that sends slowly ------------------------------------------------------------


class SlowServer:
    """Serves ``content`` as a download (``Content-Disposition: attachment``) in ``chunks``
    pieces with ``pause`` seconds between them. :attr:`sent` is set once all of it went."""

    def __init__(
        self,
        content: bytes,
        *,
        name: str = "statement.pdf",
        content_type: str = "application/pdf",
        chunks: int = 8,
        pause: float = 0.4,
    ) -> None:
        self.content = content
        self.name = name
        self.sent = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Disposition", f'attachment; filename="{name}"')
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                step = -(-len(content) // chunks)
                for start in range(0, len(content), step):
                    if start:
                        time.sleep(pause)
                    self.wfile.write(content[start : start + step])
                    self.wfile.flush()
                server.sent.set()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/{self.name}"

    def __enter__(self) -> SlowServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)


@contextlib.contextmanager
def chromium_download(url: str, folder: Path, scratch: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Headless Chromium (Debian's ``chromium``) downloading ``url`` into ``folder``: it
    writes ``Unconfirmed NNN.crdownload``, renames it to the name once complete, then
    changes its attributes. Stopped when the block ends."""
    require("chromium")
    profile = scratch / "chromium-profile"
    (profile / "Default").mkdir(parents=True, exist_ok=True)
    preferences = {
        "download": {"default_directory": str(folder), "prompt_for_download": False},
        "plugins": {"always_open_pdf_externally": True},
    }
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences), encoding="utf-8")
    log = (scratch / "chromium.log").open("wb")
    process = subprocess.Popen(
        [
            "chromium",
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            url,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": "disabled:"},
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


# -- Samba -------------------------------------------------------------------------------------


class SambaShare:
    """``smbd`` serving ``path`` as the guest share ``share`` on a free loopback port, with
    every state folder under ``scratch``; :meth:`client` runs ``smbclient`` commands."""

    def __init__(self, path: Path, scratch: Path) -> None:
        require("smbd", "smbclient")
        self.path = path
        self.port = free_port()
        folders = {name: scratch / name for name in ("private", "lock", "state", "cache", "pid")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        self.config = scratch / "smb.conf"
        self.config.write_text(
            "[global]\n"
            f"  smb ports = {self.port}\n"
            "  interfaces = 127.0.0.1\n  bind interfaces only = yes\n"
            f"  private dir = {folders['private']}\n  lock directory = {folders['lock']}\n"
            f"  state directory = {folders['state']}\n  cache directory = {folders['cache']}\n"
            f"  pid directory = {folders['pid']}\n  log file = {scratch}/log.%m\n"
            "  map to guest = Bad User\n  guest account = root\n"
            "  server role = standalone server\n  disable spoolss = yes\n"
            "  load printers = no\n  printcap name = /dev/null\n"
            "[share]\n"
            f"  path = {path}\n  read only = no\n  guest ok = yes\n  guest only = yes\n"
            "  force user = root\n",
            encoding="utf-8",
        )
        self._log = (scratch / "smbd.out").open("wb")
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SambaShare:
        # A session of its own: smbd signals its whole process group when it stops.
        self._process = subprocess.Popen(
            ["smbd", "--foreground", "--no-process-group", f"--configfile={self.config}"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"smbd did not start (see {self._log.name})")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            _stop(self._process)
        self._log.close()

    def client(self, commands: str, *, folder: str = "") -> None:
        """Run ``smbclient`` commands (``;``-separated) in ``folder`` of the share."""
        prefix = f'cd "{folder}"; ' if folder else ""
        done = subprocess.run(
            ["smbclient", "-p", str(self.port), "//127.0.0.1/share", "-N", "-c", prefix + commands],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0 or "NT_STATUS" in done.stdout:
            raise RuntimeError(f"smbclient failed: {done.stdout}{done.stderr}")


# -- FTP ---------------------------------------------------------------------------------------


class FtpServer:
    """vsftpd with anonymous upload, its root at ``root`` (which the anonymous user must not
    be able to write: vsftpd refuses that); uploads go into folders below it that it may
    write (:meth:`open_for_upload`)."""

    def __init__(self, root: Path, scratch: Path) -> None:
        require("vsftpd", "curl")
        self.root = root
        self.port = free_port()
        passive = free_port()
        empty = scratch / "vsftpd-empty"
        empty.mkdir(parents=True, exist_ok=True)
        self.config = scratch / "vsftpd.conf"
        self.config.write_text(
            "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\n"
            f"listen_port={self.port}\nanonymous_enable=YES\nlocal_enable=NO\n"
            "write_enable=YES\nanon_upload_enable=YES\nanon_other_write_enable=YES\n"
            "anon_mkdir_write_enable=NO\nno_anon_password=YES\nanon_umask=022\n"
            f"anon_root={root}\nsecure_chroot_dir={empty}\n"
            f"pasv_enable=YES\npasv_min_port={passive}\npasv_max_port={passive}\n"
            "pasv_address=127.0.0.1\nseccomp_sandbox=NO\nbackground=NO\nxferlog_enable=NO\n",
            encoding="utf-8",
        )
        self._log = (scratch / "vsftpd.out").open("wb")
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def open_for_upload(folder: Path) -> None:
        folder.chmod(0o777)

    def __enter__(self) -> FtpServer:
        self._process = subprocess.Popen(
            ["vsftpd", str(self.config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"vsftpd did not start (see {self._log.name})")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            _stop(self._process)
        self._log.close()

    def upload(self, source: Path, folder: str, *, limit_rate: str | None = None) -> None:
        """``curl -T`` ``source`` into ``folder`` (relative to the root), optionally slowly."""
        rate = ["--limit-rate", limit_rate] if limit_rate else []
        url = f"ftp://127.0.0.1:{self.port}/{quote(folder.strip('/'))}/"
        subprocess.run(
            ["curl", "-sS", "--ftp-pasv", *rate, "-T", str(source), url],
            check=True,
            capture_output=True,
            timeout=120,
        )


# -- a FUSE mount ------------------------------------------------------------------------------


@contextlib.contextmanager
def bindfs_mount(backing: Path, mount_point: Path) -> Iterator[Path]:
    """``bindfs BACKING MOUNT``: files written into ``backing`` show under the mount with no
    inotify event there (as on a share written from another machine)."""
    require("bindfs")
    backing.mkdir(parents=True, exist_ok=True)
    mount_point.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(
        ["bindfs", str(backing), str(mount_point)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount FUSE here: {made.stderr.strip()}")
    try:
        yield mount_point
    finally:
        for _ in range(50):
            if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)
