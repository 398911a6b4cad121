"""A Flower deployment on 127.0.0.1 for tests: SuperLink, SuperNodes, ``flwr run``.

Every process this module starts runs under ``timeout`` (so it cannot
outlive its budget), in its own session (so its whole process group, with
the SuperExec and ClientApp processes it spawns, is signalled through the
one PID we hold), with an isolated ``FLWR_HOME`` and free ports. Runtime
dependency installation is disabled on the SuperLink (SuperNodes never
install): the example must run with the secagg installed in this
virtualenv. :meth:`Cluster.close` ends everything it started, by PID.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "flower"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """A started process: its Popen, log file and name."""

    name: str
    popen: subprocess.Popen
    log: Path
    lines_seen: int = 0

    def text(self) -> str:
        """Everything it printed so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """Processes of one Flower federation on loopback (see the module docstring).

    Args:
        root: A fresh directory for FLWR_HOME, logs and node directories.
        budget: Seconds any process may live.
    """

    root: Path
    budget: float = 300.0
    procs: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home = self.root / "flwr-home"
        self.home.mkdir(parents=True)
        self.port = free_port()
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "FLWR_HOME": str(self.home),
            "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("SECAGG_FLOWER_DIR", None)

    def _start(self, name: str, argv: list[str]) -> Proc:
        log = self.root / f"{name}.log"
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        cmd = ["timeout", "--kill-after=5", str(int(self.budget)), *argv]
        popen = subprocess.Popen(
            cmd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.root,
            start_new_session=True,
        )
        handle.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def superlink(self, *, simulation: bool = False, num_supernodes: int = 0) -> Proc:
        """Start the SuperLink (in simulation mode with its own SuperNodes when asked)."""
        connection = [
            "[superlink]",
            'default = "loopback"',
            "[superlink.loopback]",
            f'address = "127.0.0.1:{self.port}"',
            "insecure = true",
        ]
        if simulation:
            connection += [
                f"options.num-supernodes = {num_supernodes}",
                "options.backend.client-resources.num-cpus = 1",
            ]
        (self.home / "config.toml").write_text("\n".join(connection) + "\n")
        argv = [
            str(BIN / "flower-superlink"),
            "--insecure",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--control-api-address",
            f"127.0.0.1:{free_port()}",
            "--fleet-api-address",
            f"127.0.0.1:{free_port()}",
            "--disable-runtime-dependency-installation",
            "--database",
            ":flwr-in-memory:",
        ]
        if simulation:
            argv.append("--simulation")
        return self._start("superlink", argv)

    def supernode(self, partition: int, num_partitions: int, name: str | None = None) -> Proc:
        """Start a SuperNode holding one partition, with its own secagg directory."""
        node_dir = self.root / f"node-{partition}"
        config = f"partition-id={partition} num-partitions={num_partitions} secagg-dir='{node_dir}'"
        argv = [
            str(BIN / "flower-supernode"),
            "--insecure",
            "--superlink",
            f"127.0.0.1:{self.port}",
            "--port",
            str(free_port()),
            "--node-config",
            config,
        ]
        return self._start(name or f"supernode-{partition}", argv)

    def flwr(self, *args: str, timeout: float = 60.0) -> dict:
        """Run the flwr CLI with ``--format json`` and return its JSON answer."""
        out = subprocess.run(
            [str(BIN / "flwr"), *args, "--format", "json"],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.root,
            timeout=timeout,
            check=False,
        )
        start = out.stdout.find("{")
        if start < 0:
            raise AssertionError(f"flwr {args} printed no JSON: {out.stdout}\n{out.stderr}")
        return json.loads(out.stdout[start:])

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        """Poll ``check`` every half second until it holds, else fail naming ``what``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            for proc in self.procs:
                if proc.name == "superlink" and proc.popen.poll() is not None:
                    raise AssertionError(f"the SuperLink exited:\n{proc.text()[-3000:]}")
            time.sleep(0.5)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def online_nodes(self) -> set[str]:
        """Ids of the SuperNodes the SuperLink lists as online."""
        try:
            answer = self.flwr("supernode", "list", "loopback", timeout=30)
        except (subprocess.TimeoutExpired, AssertionError, json.JSONDecodeError):
            return set()
        return {n["node-id"] for n in answer.get("nodes", []) if n.get("status") == "online"}

    def run(self, app: Path, run_config: str, federation_config: str | None = None) -> str:
        """Submit ``flwr run`` of ``app`` and return the run id (its exit code is not trusted)."""
        args = ["run", str(app), "loopback", "--run-config", run_config]
        if federation_config:
            args += ["--federation-config", federation_config]
        answer = self.flwr(*args, timeout=120)
        assert answer.get("success"), answer
        return str(answer["run-id"])

    def status(self, run_id: str) -> dict:
        """The run's entry in ``flwr ls`` (status, timings, traffic)."""
        answer = self.flwr("ls", "loopback", "--run-id", run_id, timeout=30)
        runs = answer.get("runs") or [{}]
        return dict(runs[0])

    def wait_finished(self, run_id: str, timeout: float) -> dict:
        """Poll ``flwr ls`` until the run has finished; return its entry."""
        entry: dict = {}

        def finished() -> bool:
            nonlocal entry
            try:
                entry = self.status(run_id)
            except (subprocess.TimeoutExpired, AssertionError, json.JSONDecodeError):
                return False
            return str(entry.get("status", "")).startswith("finished")

        self.wait_for(f"run {run_id} to finish", finished, timeout)
        return entry

    def node_ids(self) -> dict[str, int]:
        """SuperNode id -> partition, read from the SuperNodes' logs."""
        ids: dict[str, int] = {}
        for proc in self.procs:
            match = re.search(r"SuperNode ID: (\d+)", proc.text())
            part = re.search(r"partition-id=(\d+)", " ".join(map(str, proc.popen.args)))
            if match and part:
                ids[match.group(1)] = int(part.group(1))
        return ids

    def kill(self, proc: Proc) -> None:
        """SIGKILL a process and everything it spawned (its process group, by its PID)."""
        try:
            os.killpg(proc.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.popen.wait(timeout=10)

    def close(self) -> None:
        """End every process this cluster started: SIGTERM, then SIGKILL, by PID."""
        for proc in reversed(self.procs):
            if proc.popen.poll() is None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group may hold children that ignored SIGTERM
                os.killpg(proc.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if proc.popen.poll() is None:
                proc.popen.wait(timeout=10)
