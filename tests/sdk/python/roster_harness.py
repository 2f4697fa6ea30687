"""Start and stop a real `roster serve` process for a test module.

Each suite passes its own seed file from tests/sdk/seeds/. The backend is SQLite in a fresh
temporary directory, or, with ROSTER_SDK_BACKEND=postgres, a fresh database created on the
server of ROSTER_TEST_DATABASE_URL.

A run touches only what it made: the databases and temporary directories made here are
removed when the Python process exits (the processes it started are killed first), and each
database is marked at creation with the comment the Rust suites' sweep looks for, so one left
by a killed run is swept later (crates/roster-store/src/test_support.rs).
"""

import atexit
import itertools
import json
import os
import pathlib
import socket
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[3]
SEEDS = ROOT / "tests" / "sdk" / "seeds"
ADMIN_TOKEN = "conformance-admin-token"


def roster_binary() -> str:
    if os.environ.get("ROSTER_BIN"):
        return os.environ["ROSTER_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    return str(pathlib.Path(target) / "debug" / "roster")


# The comment that marks a scratch database (SCRATCH_MARK in test_support.rs), then its
# creation time in Unix seconds.
SCRATCH_MARK = "roster scratch database, created at "

_made = {"databases": [], "directories": [], "processes": []}


@atexit.register
def _remove_what_this_run_made():
    for process in _made["processes"]:
        if process.poll() is None:
            process.kill()
            process.wait()
    base = os.environ.get("ROSTER_TEST_DATABASE_URL")
    for name in _made["databases"]:
        subprocess.run(["psql", base, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       check=False)
    for directory in _made["directories"]:
        shutil.rmtree(directory, ignore_errors=True)


def temporary_directory(prefix: str) -> str:
    """A new temporary directory, removed when this process exits."""
    directory = tempfile.mkdtemp(prefix=prefix)
    _made["directories"].append(directory)
    return directory


def scratch_postgres_url() -> str:
    base = os.environ["ROSTER_TEST_DATABASE_URL"]
    now = int(time.time())
    name = f"roster_sdk_{now}_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True)
    _made["databases"].append(name)
    subprocess.run(["psql", base, "-qc", f"COMMENT ON DATABASE {name} IS '{SCRATCH_MARK}{now}'"],
                   check=True)
    return base.rsplit("/", 1)[0] + "/" + name


class Roster:
    """A running roster server; `url` is its base URL (no trailing slash). With `tls`, it
    serves HTTPS with the certificate it makes; `ca` is the CA file to trust."""

    def __init__(self, seed: str, backend: str = None, tls: bool = False, database: str = None):
        self.seed = SEEDS / seed
        self.data = temporary_directory("roster-sdk-")
        self.tls = tls
        self.ca = pathlib.Path(self.data) / "tls" / "ca.pem" if tls else None
        backend = backend or os.environ.get("ROSTER_SDK_BACKEND", "sqlite")
        if database is None and backend == "postgres":
            database = scratch_postgres_url()
        self.database = database
        self.process = None
        self.url = None
        self.start()

    def start(self):
        args = [
            roster_binary(), "serve", "--listen", "127.0.0.1:0", "--data", self.data,
            "--seed", str(self.seed), "--admin-token", ADMIN_TOKEN,
        ]
        if self.database:
            args += ["--database", self.database]
        if self.tls:
            args.append("--tls")
        env = {**os.environ, "ROSTER_LOG": os.environ.get("ROSTER_LOG", "warn")}
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
        _made["processes"].append(self.process)
        first = self.process.stdout.readline().strip()
        prefix = "roster listening on "
        if not first.startswith(prefix):
            self.process.kill()
            raise RuntimeError(f"roster did not start: {first!r}")
        self.url = first[len(prefix):]

    def stop(self):
        """Graceful stop (SIGTERM), as an operator would."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("roster did not stop within 30 s of SIGTERM")
        finally:
            self.process.stdout.close()

    def restart(self):
        self.stop()
        self.start()

    def admin(self, method: str, path: str, body=None):
        """Call one of roster's own /_roster/ routes; returns (status, parsed JSON)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + "/_roster" + path, data=data, method=method,
            headers={"Authorization": "Bearer " + ADMIN_TOKEN,
                     "Content-Type": "application/json"},
        )
        try:
            context = ssl.create_default_context(cafile=self.ca) if self.ca else None
            with urllib.request.urlopen(request, context=context) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def snapshot(self) -> bytes:
        """The snapshot file of every space (GET /_roster/snapshot)."""
        request = urllib.request.Request(
            self.url + "/_roster/snapshot",
            headers={"Authorization": "Bearer " + ADMIN_TOKEN},
        )
        with urllib.request.urlopen(request) as response:
            return response.read()

    def load_snapshot(self, file: bytes):
        request = urllib.request.Request(
            self.url + "/_roster/snapshot", data=file, method="POST",
            headers={"Authorization": "Bearer " + ADMIN_TOKEN},
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 200

    def advance_clock(self, seconds: int):
        status, _ = self.admin("POST", "/clock", {"offset_seconds": seconds})
        assert status == 200


class RoundRobinProxy:
    """A TCP proxy on a free local port that hands each new connection to the next backend
    in turn (what a load balancer in front of several roster processes does)."""

    def __init__(self, backends):
        self.backends = itertools.cycle(backends)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            host, port = next(self.backends)
            try:
                backend = socket.create_connection((host, port))
            except OSError:
                client.close()
                continue
            for source, sink in ((client, backend), (backend, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


class Cluster:
    """Several roster processes on one PostgreSQL database behind a round-robin proxy, with
    the interface of `Roster`. roster's own routes that keep per-process state (the clock,
    fault rules, the journal) are sent to every process."""

    PER_PROCESS = ("/clock", "/faults", "/requests")

    def __init__(self, seed: str, processes: int):
        database = scratch_postgres_url()
        self.members = [Roster(seed, database=database) for _ in range(processes)]
        self.tls, self.ca = False, None
        self._proxy()

    def _proxy(self):
        backends = [urllib.parse.urlsplit(m.url) for m in self.members]
        self.proxy = RoundRobinProxy([(b.hostname, b.port) for b in backends])
        self.url = self.proxy.url

    def admin(self, method: str, path: str, body=None):
        if method != "GET" and path.startswith(self.PER_PROCESS):
            answers = [m.admin(method, path, body) for m in self.members]
            return answers[0]
        return self.members[0].admin(method, path, body)

    def snapshot(self) -> bytes:
        return self.members[0].snapshot()

    def load_snapshot(self, file: bytes):
        self.members[0].load_snapshot(file)

    def advance_clock(self, seconds: int):
        status, _ = self.admin("POST", "/clock", {"offset_seconds": seconds})
        assert status == 200

    def restart(self):
        self.proxy.close()
        for member in self.members:
            member.restart()
        self._proxy()

    def stop(self):
        self.proxy.close()
        for member in self.members:
            member.stop()


# With ROSTER_SDK_PROCESSES=N (PostgreSQL only), every suite runs against N roster processes
# on one database behind a round-robin proxy.
PROCESSES = int(os.environ.get("ROSTER_SDK_PROCESSES", "1"))


def start(seed: str):
    """A `Roster`, or a `Cluster` of PROCESSES, on `seed`."""
    return Cluster(seed, PROCESSES) if PROCESSES > 1 else Roster(seed)
