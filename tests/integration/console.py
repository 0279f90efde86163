"""A QEMU console for the integration tests (no pexpect).

Console starts a command (normally scripts/qemu.sh with a system package) with pipes for stdin
and stdout, collects its output in a reader thread (and tees it to a log file as it arrives),
and offers expect()/wait_for()/wait_until() with deadlines, send(), lines(vm) and close().

Only complete lines (ending in "\\n") are searched, so "tick 2" never matches a half-written
"tick 20". Carriage returns are dropped. Lines look like "[<vm>] <text>" or "[hyp] <text>".
"""

import codecs
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = float(os.environ.get("BH_TIMEOUT", "60"))
TAIL_LINES = 40

_TAGGED = re.compile(r"^\[([^\]\n]+)\] ?(.*)$")


class ConsoleTimeout(AssertionError):
    """An expectation was not met before its deadline (or QEMU exited first)."""


class Console:
    def __init__(self, cmd, log_path=None, env=None, cwd=ROOT):
        self.cmd = [str(c) for c in cmd]
        self.log_path = Path(log_path) if log_path else None
        self._cond = threading.Condition()
        self._buf = []  # decoded chunks, joined lazily
        self._text = ""
        self._complete = 0  # length of the text up to and including the last "\n"
        self.pos = 0  # end of the previous expect() match
        self.returncode = None
        self._eof = False
        self._sent = []
        self._t0 = time.monotonic()
        self._log = None
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "w", encoding="utf-8", errors="replace")
            self._log.write("# " + " ".join(self.cmd) + "\n")
            self._log.flush()
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=str(cwd),
            env=env,
            start_new_session=True,  # its own process group: close() ends exactly that group
        )
        self._reader = threading.Thread(target=self._read, name="console-reader", daemon=True)
        self._reader.start()

    @classmethod
    def qemu(cls, package, log_path=None, smp=None, mem=None, extra_args=(), env=None):
        """Boots Bulkhead with `package` through scripts/qemu.sh."""
        e = dict(os.environ if env is None else env)
        if smp is not None:
            e["QEMU_SMP"] = str(smp)
        if mem is not None:
            e["QEMU_MEM"] = str(mem)
        cmd = [ROOT / "scripts" / "qemu.sh", package, *extra_args]
        return cls(cmd, log_path=log_path, env=e)

    # ---- reader ----

    def _read(self):
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        fd = self.proc.stdout.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            text = decoder.decode(data, final=not data).replace("\r", "")
            with self._cond:
                if text:
                    self._text += text
                    nl = self._text.rfind("\n")
                    self._complete = nl + 1
                    if self._log:
                        self._log.write(text)
                        self._log.flush()
                if not data:
                    self._eof = True
                self._cond.notify_all()
            if not data:
                break
        rc = self.proc.wait()
        with self._cond:
            self.returncode = rc
            self._cond.notify_all()

    # ---- looking at the output ----

    @property
    def text(self):
        """All output so far (complete lines only)."""
        with self._cond:
            return self._text[: self._complete]

    def all_lines(self):
        """All complete lines so far."""
        return self.text.splitlines()

    def lines(self, vm=None):
        """The text of each complete line printed with tag `vm` ("hyp" for the hypervisor), in
        order, without the "[vm] " prefix; with vm=None, (tag, text) for every tagged line."""
        out = []
        for line in self.all_lines():
            m = _TAGGED.match(line)
            if not m:
                continue
            if vm is None:
                out.append((m.group(1), m.group(2)))
            elif m.group(1) == vm:
                out.append(m.group(2))
        return out

    def tail(self, n=TAIL_LINES):
        with self._cond:
            text = self._text
        return "\n".join(text.splitlines()[-n:])

    def _failure(self, what, timeout):
        if self._eof:
            try:
                rc = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                rc = "unknown"
            head = f"QEMU exited (status {rc}) while waiting for {what}"
        else:
            head = f"timed out after {timeout:g} s waiting for {what}"
        where = f" (full log: {self.log_path})" if self.log_path else ""
        return ConsoleTimeout(
            f"{head}{where}\n--- last {TAIL_LINES} lines of output ---\n{self.tail()}\n---"
        )

    @staticmethod
    def _compile(pattern):
        if isinstance(pattern, re.Pattern):
            return pattern
        return re.compile(pattern, re.MULTILINE)

    def expect(self, pattern, timeout=DEFAULT_TIMEOUT):
        """Waits until `pattern` (a regex, MULTILINE) matches complete output after the end of
        the previous expect() match; moves that position to the end of this match and returns
        the match object. Raises ConsoleTimeout with the last lines of output on timeout."""
        rx = self._compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._text, self.pos, self._complete)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    raise self._failure(repr(rx.pattern), timeout)
                self._cond.wait(min(left, 1.0))

    def wait_for(self, pattern, timeout=DEFAULT_TIMEOUT):
        """Like expect() but searches all output from the start and leaves the expect()
        position alone (for lines whose order relative to others is not fixed)."""
        rx = self._compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._text, 0, self._complete)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    raise self._failure(repr(rx.pattern), timeout)
                self._cond.wait(min(left, 1.0))

    def wait_until(self, predicate, what, timeout=DEFAULT_TIMEOUT):
        """Waits until predicate() is true (re-evaluated when output arrives, at least every
        0.25 s); returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                eof = self._eof
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0 or eof:
                raise self._failure(what, timeout)
            with self._cond:
                self._cond.wait(min(left, 0.25))

    def numbers(self, vm, pattern):
        """int(group 1, base auto-detected) of every line of `vm` that `pattern` matches."""
        rx = re.compile(pattern)
        out = []
        for text in self.lines(vm):
            m = rx.search(text)
            if m:
                out.append(int(m.group(1), 0))
        return out

    def last_number(self, vm, pattern, default=0):
        """The last number numbers(vm, pattern) gives, or `default` if there is none."""
        nums = self.numbers(vm, pattern)
        return nums[-1] if nums else default

    # ---- input ----

    def send(self, data):
        """Writes bytes (or a str, encoded as UTF-8) to QEMU's stdin, i.e. the console."""
        if isinstance(data, str):
            data = data.encode()
        self._sent.append((time.monotonic() - self._t0, data))
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    # ---- ending ----

    @property
    def running(self):
        return self.proc.poll() is None

    def close(self):
        """Kills QEMU (its process group), waits for the reader and closes the log."""
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self._reader.join(timeout=10)
        if self._log:
            with self._cond:
                if self._complete < len(self._text):
                    self._log.write("\n")
                self._log.write(f"# exit status {self.proc.returncode}\n")
                for t, data in self._sent:
                    self._log.write(f"# sent at {t:.2f} s: {data!r}\n")
                self._log.close()
                self._log = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
