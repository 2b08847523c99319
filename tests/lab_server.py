"""Start and stop a JupyterLab server for tests, by the process we started (not a shell's $!)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

# Variables that make notebooks render static figures; a student's Lab has none of them.
RENDER_VARIABLES = ("GDLESSONS_RENDER", "TQDM_DISABLE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, workdir: Path, *, expose_app: bool = False, timeout: float = 120):
    """Serve ``root`` on 127.0.0.1 with a token; yield ``(base_url, token)``; kill the server's
    whole process group on exit. Settings and runtime files live in ``workdir``."""
    port, token = free_port(), "gdlessons-test-token"
    settings = workdir / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    # No "get notified about news" pop-up over the notebook.
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    # Render every cell: with JupyterLab's default windowing, outputs far from the viewport are
    # detached, and a long chapter's explorer image may not update while the test watches it.
    notebook = workdir / "lab-settings" / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True, exist_ok=True)
    (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {k: v for k, v in os.environ.items() if k not in RENDER_VARIABLES}
    env.update(
        JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
        JUPYTER_CONFIG_DIR=str(workdir / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(workdir / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
    )
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
        "--ServerApp.disable_check_xsrf=True", f"--LabApp.expose_app_in_browser={expose_app}",
    ]  # fmt: skip
    log = open(workdir / "jupyterlab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(
                        f"JupyterLab exited early; see {workdir / 'jupyterlab.log'}"
                    ) from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"JupyterLab did not answer within {timeout} s") from None
                time.sleep(0.5)
        yield base, token
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def get_json(url: str):
    return json.load(urllib.request.urlopen(url, timeout=10))
