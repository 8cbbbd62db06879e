"""Fixtures for the integration tests: a real `spate broker` process on loopback.

The binary comes from $SPATE_BIN (ctest passes $<TARGET_FILE:spate>); without it the release
build in the source tree is used. Each test gets a fresh data folder under pytest's tmp_path
and a broker on an ephemeral port (--port 0), found from the broker's `ready:` log line.

    def test_x(broker):                 # started with the default flags
        produce(broker.bootstrap, ...)  # "127.0.0.1:<port>"
        broker.restart()                # SIGTERM (must exit 0), start again on the same dir
        broker.restart(keep_port=True)  # ... listening on the same port as before
        broker.kill()                   # SIGKILL; broker.start() brings it back

    def test_y(bootstrap): ...          # just "127.0.0.1:<port>"

    def test_z(make_broker):
        b = make_broker("--segment-bytes", "4096")

On teardown every broker still running gets SIGTERM and must exit 0 within 30 s: a clean
stop is part of every test. When a test fails, the broker's stderr is attached to its report.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

READY = re.compile(rb"ready: Kafka clients can connect to ([0-9.]+):(\d+)")
METRICS = re.compile(rb"metrics: Prometheus can scrape http://([0-9.]+):(\d+)/metrics")
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30
DEFAULT_TEST_TIMEOUT_S = 120


def built_binary(env, relative):
    """A program of this build: $env (ctest sets it), else the release build in the source
    tree (build/release/<relative>)."""
    path = os.environ.get(env)
    if not path:
        path = str(Path(__file__).resolve().parents[2] / "build/release" / relative)
    if not os.access(path, os.X_OK):
        pytest.exit(f"{Path(relative).name} not found at {path}; set {env}", returncode=2)
    return path


def spate_binary():
    return built_binary("SPATE_BIN", "src/cli/spate")


class Broker:
    """One broker data folder, run as a child process; can be stopped and started again."""

    def __init__(self, data_dir, log_dir, args):
        self.binary = spate_binary()
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.args = list(args)
        self.proc = None
        self.port = None
        self.host = None
        self.runs = 0  # how many times it was started; each run logs to its own file
        self.log_path = None
        self.stopped = True  # by stop() or kill(), until the next start()
        self.fixed_port = None  # set by restart(keep_port=True): listen on this port, not 0
        self.metrics_port = None  # the Prometheus endpoint's port (ephemeral), if enabled

    @property
    def bootstrap(self):
        return f"{self.host}:{self.port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=START_TIMEOUT_S):
        assert not self.alive(), "broker already running"
        self.runs += 1
        self.stopped = False
        self.log_path = self.log_dir / f"broker-{self.runs}.log"
        port = str(self.fixed_port) if self.fixed_port else "0"
        cmd = [self.binary, "broker", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
               "--port", port] + self.args
        # The endpoint's default port (9644) would collide between concurrent brokers.
        if "--metrics-port" not in self.args:
            cmd += ["--metrics-port", "0"]
        # Two event loops whatever the machine (the default leaves one core over, so a 2-core
        # machine would run one): requests then cross cores, as on any bigger machine.
        # SPATE_TEST_CORES=1 runs the suite on one loop, the default of a 2-core machine.
        # test_config checks the default itself (--cores 0).
        if "--cores" not in self.args:
            cmd += ["--cores", os.environ.get("SPATE_TEST_CORES", "2")]
        # stderr goes to a file, not a pipe: a chatty broker must never block on a full pipe.
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_bytes()
            m = READY.search(text)
            if m:
                self.host, self.port = m.group(1).decode(), int(m.group(2))
                mm = METRICS.search(text)  # logged before the ready line
                self.metrics_port = int(mm.group(2)) if mm else None
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"broker exited with {self.proc.returncode} before it was "
                                     f"ready: {cmd}\n{self.log()}")
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        raise AssertionError(f"broker not ready within {timeout} s: {cmd}\n{self.log()}")

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM and wait; asserts a clean exit (status 0)."""
        assert self.proc is not None, "broker was never started"
        rc = self.proc.poll()
        if rc is not None:
            raise AssertionError(f"broker had already exited with status {rc} before it was "
                                 f"stopped (crash?)\n{self.log()}")
        self.proc.send_signal(signal.SIGTERM)
        self.stopped = True
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"broker did not exit within {timeout} s of SIGTERM\n"
                                 f"{self.log()}")
        assert rc == 0, f"broker exited with status {rc} after SIGTERM\n{self.log()}"

    def kill(self):
        """SIGKILL: no chance to flush or close anything."""
        assert self.alive(), f"broker not running\n{self.log()}"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT_S)
        self.stopped = True

    def restart(self, keep_port=False, how="clean"):
        """Stops (how="clean": SIGTERM, must exit 0; how="sigkill": SIGKILL) and starts again;
        keep_port=True listens on the same port as before (so running clients reconnect to
        the same bootstrap address) instead of a fresh one."""
        assert how in ("clean", "sigkill"), how
        if how == "clean":
            self.stop()
        else:
            self.kill()
        if keep_port:
            self.fixed_port = self.port
        return self.start()

    def log(self, run=None, tail=200):
        """The stderr of the given run (default: the latest), at most `tail` lines."""
        path = self.log_path if run is None else self.log_dir / f"broker-{run}.log"
        if path is None or not path.exists():
            return "(no broker log)"
        lines = path.read_text(errors="replace").splitlines()
        head = f"--- {path} ({len(lines)} lines"
        head += f", last {tail})" if len(lines) > tail else ")"
        return "\n".join([head] + lines[-tail:])


@pytest.fixture
def make_broker(request, tmp_path):
    """Factory: make_broker(*extra_args) starts a broker on a fresh data folder."""
    brokers = []
    request.node.spate_brokers = brokers

    def make(*args):
        n = len(brokers)
        data = tmp_path / f"data{n}"
        logs = tmp_path / f"logs{n}"
        data.mkdir()
        logs.mkdir()
        b = Broker(data, logs, args)
        brokers.append(b)
        return b.start()

    yield make
    failures = []
    try:
        for b in brokers:
            if b.stopped:
                continue  # stopped or SIGKILLed by the test and not started again
            try:
                b.stop()
            except AssertionError as e:
                failures.append(str(e))
    finally:
        for b in brokers:  # whatever happened above, leave no process behind
            if b.alive():
                b.proc.kill()
                b.proc.wait()
    assert not failures, "\n\n".join(failures)


@pytest.fixture
def broker(make_broker):
    """A broker with 3 partitions per auto-created topic."""
    return make_broker("--num-partitions", "3")


@pytest.fixture
def bootstrap(broker):
    return broker.bootstrap


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, b in enumerate(getattr(item, "spate_brokers", [])):
            for run in range(1, b.runs + 1):
                report.sections.append((f"spate broker {i} run {run} stderr", b.log(run)))


# --- per-test time limit ---------------------------------------------------------------------


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): per-test time limit (SIGALRM)")


class TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _time_limit(request):
    """Fails a test that runs past its limit (default 120 s, or @pytest.mark.timeout(n)),
    so a wedged client or broker shows up as a failure with a traceback, not a hung ctest."""
    marker = request.node.get_closest_marker("timeout")
    limit = marker.args[0] if marker else DEFAULT_TEST_TIMEOUT_S

    def expired(signum, frame):
        raise TestTimeout(f"test exceeded its {limit} s limit")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(limit)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)
