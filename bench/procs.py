"""Start and measure the processes a benchmark runs against (no psutil: /proc is enough on Linux)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.integration.stack import free_port, wait_http

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (10,000 sockets need more than the
    usual 1,024); children inherit it. Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on the machine (the server is shared, not the bench's own: read
    it on a machine where nothing else queries PostgreSQL). Exited backends count in the postmaster's
    reaped children."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("postgres"):
                    total += cpu_seconds(int(entry.name))
            except OSError:
                continue  # the process ended meanwhile
    return total


def sys_seconds(pid: int) -> float:
    """Kernel-mode CPU of a process (syscalls, network stack): on this VM often more than user time."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[12]) + int(fields[14])) / CLOCK_TICKS


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    port: int = 0

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Cluster:
    env: dict[str, str]
    logdir: Path
    procs: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], port: int = 0) -> Proc:
        log = open(self.logdir / f"{name}.log", "wb")
        popen = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        proc = Proc(name, popen, port)
        self.procs.append(proc)
        return proc

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [str(BIN / "python"), "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def daphne(self, name: str = "daphne") -> Proc:
        port = free_port()
        # Daphne as production runs it (the Procfile's web process: ops.serve).
        serve = [str(BIN / "python"), "-m", "ops.serve", "-b", "127.0.0.1", "-p", str(port)]
        proc = self.spawn(name, [*serve, "playground.asgi:application"], port)
        wait_http(f"http://127.0.0.1:{port}/api/version", proc.popen)
        return proc

    def worker(self, concurrency: int, name: str = "worker") -> Proc:
        proc = self.spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "playground",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "WARNING",
                "-n",
                f"{name}@%h",
            ],
        )
        deadline = time.monotonic() + 60
        log = self.logdir / f"{name}.log"
        while "ready" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(log.read_text())
            time.sleep(0.2)
        return proc

    def redis(self) -> Proc:
        """A private Redis for the bench: its CPU is the bench's alone, whatever else uses the shared one."""
        port = free_port()
        proc = self.spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxclients",
                "20000",
            ],
            port,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0:
            if time.monotonic() > deadline or proc.popen.poll() is not None:
                raise RuntimeError((self.logdir / "redis.log").read_text())
            time.sleep(0.05)
        return proc

    def fake_openai(self) -> Proc:
        port = free_port()
        proc = self.spawn(
            "fake-openai",
            [str(BIN / "python"), "-m", "tests.support.fake_openai", "--port", str(port), "--no-record"],
            port,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
