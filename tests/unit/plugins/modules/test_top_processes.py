# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import os
import pwd

import pytest

from ansible_collections.jvmops.deploy.plugins.modules import top_processes

NOBODY = 65534 if os.getuid() != 65534 else 65533
NO_NAME = 987654  # a uid without a name in /etc/passwd
KB = 1024
MEM_TOTAL_KB = 4000000


def name_of(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


class FakeProc:
    """A /proc tree in a directory: processes, /proc/stat with 2 CPUs, meminfo and loadavg. Changes given to later()
    are made when the module sleeps between its two samples."""

    def __init__(self, root):
        self.root = root
        self.pending = []
        self.slept = []
        root.mkdir()
        self.host(total=10000)
        (root / "meminfo").write_text(f"MemTotal:       {MEM_TOTAL_KB} kB\nMemFree:         100000 kB\n"
                                      f"MemAvailable:   {MEM_TOTAL_KB - 1258292} kB\nBuffers: 1 kB\n")
        (root / "loadavg").write_text("0.15 0.10 0.05 2/122 12780\n")

    def host(self, total, cpus=2):
        """/proc/stat with `total` jiffies spread over the columns top adds up (guest columns are not added)."""
        user = total - 400
        lines = [f"cpu  {user} 0 100 200 50 0 30 20 999 999"]
        lines += [f"cpu{n} 1 0 0 0 0 0 0 0 0 0" for n in range(cpus)]
        (self.root / "stat").write_text("\n".join(lines + ["intr 1 2 3", "ctxt 5", "processes 9"]) + "\n")

    def spawn(self, pid, args, name=None, uid=0, ticks=(0, 0), rss_kb=1000, start=100):
        directory = self.root / str(pid)
        directory.mkdir(exist_ok=True)
        name = name or os.path.basename(args[0] if args else "kthread")[:15]
        (directory / "cmdline").write_bytes(b"".join(arg.encode() + b"\0" for arg in args))
        status = f"Name:\t{name}\nState:\tS (sleeping)\nPPid:\t1\nUid:\t4242\t{uid}\t{uid}\t{uid}\n"
        if rss_kb is not None:
            status += f"VmRSS:\t{rss_kb:>8} kB\n"
        (directory / "status").write_text(status)
        (directory / "statm").write_text("1000 250 100 5 0 123 0\n")
        self.ticks(pid, *ticks, name=name, start=start)

    def ticks(self, pid, utime, stime, name=None, start=100):
        """/proc/<pid>/stat with these user and system jiffies (fields 14 and 15) and start time (field 22)."""
        path = self.root / str(pid) / "stat"
        if name is None:
            old = path.read_text()
            name = old[old.find("(") + 1:old.rfind(")")]
        rest = ["S", "1", str(pid), "0", "0", "-1", "4194304"] + ["0"] * 4 + [str(utime), str(stime)] + ["0"] * 6
        rest += [str(start)] + ["0"] * 30
        path.write_text(f"{pid} ({name}) {' '.join(rest)}\n")

    def kill(self, pid):
        for child in (self.root / str(pid)).iterdir():
            child.unlink()
        (self.root / str(pid)).rmdir()

    def later(self, change):
        self.pending.append(change)

    def sleep(self, seconds):
        self.slept.append(seconds)
        for change in self.pending:
            change()


@pytest.fixture(name="proc")
def proc_fixture(tmp_path, monkeypatch):
    proc = FakeProc(tmp_path / "proc")
    monkeypatch.setattr(top_processes, "_PROC", str(proc.root))
    monkeypatch.setattr(top_processes, "_sleep", proc.sleep)
    return proc


@pytest.fixture(name="run")
def run_fixture(invoke, proc):
    def run(check=False, **args):
        return invoke(top_processes.main, args, check=check)

    run.proc = proc
    return run


def busy_host(proc):
    """Over the interval the host passes 300 jiffies on 2 CPUs (1.5 s of wall time)."""
    proc.spawn(1, ["/sbin/init", "splash"], ticks=(500, 500), rss_kb=12000)
    proc.spawn(100, ["java", "-jar", "/srv/app/app.jar"], uid=NOBODY, ticks=(1000, 200), rss_kb=1000000)
    proc.spawn(200, ["/usr/sbin/nginx", "-g", "daemon off;"], ticks=(10, 10), rss_kb=123456)
    proc.spawn(2, [], name="kthreadd", ticks=(7, 3), rss_kb=None)
    proc.later(lambda: proc.host(total=10300))
    proc.later(lambda: proc.ticks(100, 1080, 220))  # 100 jiffies of 300 on 2 CPUs: 66.7%
    proc.later(lambda: proc.ticks(200, 10, 11))  # 1 jiffy: 0.666.. -> 0.7%
    proc.later(lambda: proc.ticks(1, 502, 500))  # 2 jiffies: 1.3%


def test_cpu_percent_like_top_irix_mode(run):
    busy_host(run.proc)
    result = run(interval=1.5).result
    assert run.proc.slept == [1.5]
    assert not result["changed"] and result["cpus"] == 2
    assert [(p["pid"], p["cpu_percent"]) for p in result["processes"]] == [(100, 66.7), (1, 1.3), (200, 0.7), (2, 0.0)]


def test_a_process_using_two_cores_shows_200_percent(run):
    run.proc.spawn(100, ["stress", "--cpu", "2"], ticks=(0, 0))
    run.proc.later(lambda: run.proc.host(total=10400))
    run.proc.later(lambda: run.proc.ticks(100, 390, 10))
    assert run().result["processes"][0]["cpu_percent"] == 200.0


def test_memory_user_rss_and_command(run):
    busy_host(run.proc)
    processes = {p["pid"]: p for p in run().result["processes"]}
    java = processes[100]
    assert java == {"pid": 100, "user": name_of(NOBODY), "cpu_percent": 66.7,
                    "memory_percent": 25.0, "rss_bytes": 1000000 * KB, "command": "java -jar /srv/app/app.jar"}
    assert processes[200]["memory_percent"] == 3.1  # 123456 of 4000000 kB
    assert processes[200]["user"] == "root"
    assert processes[200]["command"] == "/usr/sbin/nginx -g daemon off;"


def test_kernel_thread_in_brackets_its_size_from_statm(run):
    busy_host(run.proc)
    kthread = {p["pid"]: p for p in run().result["processes"]}[2]
    assert kthread["command"] == "[kthreadd]"
    assert kthread["rss_bytes"] == 250 * top_processes.PAGE_SIZE


def test_name_with_spaces_and_parentheses_in_stat(run):
    run.proc.spawn(300, [], name="odd) (name", ticks=(1, 1))
    run.proc.later(lambda: run.proc.host(total=10100))
    run.proc.later(lambda: run.proc.ticks(300, 11, 1))
    process = run().result["processes"][0]
    assert (process["command"], process["cpu_percent"]) == ("[odd) (name]", 20.0)


def test_sort_by_memory_and_count(run):
    busy_host(run.proc)
    result = run(sort="memory", count=2).result
    assert [p["pid"] for p in result["processes"]] == [100, 200]
    assert [p["pid"] for p in run(count=1).result["processes"]] == [100]


def test_user_filter_by_name_or_number(run):
    busy_host(run.proc)
    run.proc.spawn(400, ["sleep", "1000"], uid=NO_NAME)
    assert [p["pid"] for p in run(user="root").result["processes"]] == [1, 200, 2]
    assert [p["pid"] for p in run(user=str(NOBODY)).result["processes"]] == [100]
    result = run(user=str(NO_NAME)).result
    assert [(p["pid"], p["user"]) for p in result["processes"]] == [(400, str(NO_NAME))]


def test_vanished_process_skipped_new_one_counted_from_its_start(run):
    busy_host(run.proc)
    run.proc.spawn(300, ["short-lived"], ticks=(5000, 5000))
    run.proc.spawn(500, ["old-owner-of-pid-500"], ticks=(5000, 0), start=100)
    run.proc.later(lambda: run.proc.kill(300))
    run.proc.later(lambda: run.proc.spawn(600, ["new"], ticks=(30, 0)))
    run.proc.later(lambda: run.proc.kill(500))
    run.proc.later(lambda: run.proc.spawn(500, ["new-pid-500"], ticks=(15, 0), start=9000))
    result = run(count=100).result
    cpu = {p["pid"]: p["cpu_percent"] for p in result["processes"]}
    assert 300 not in cpu
    assert (cpu[600], cpu[500]) == (20.0, 10.0)


def test_process_gone_after_the_second_sample_is_skipped(run, monkeypatch):
    busy_host(run.proc)
    real = top_processes.owner_and_rss
    monkeypatch.setattr(top_processes, "owner_and_rss", lambda pid: None if pid == 200 else real(pid))
    assert [p["pid"] for p in run().result["processes"]] == [100, 1, 2]


def test_command_cut_to_width(run):
    run.proc.spawn(100, ["java"] + ["-Dx=" + "y" * 50] * 3)
    assert len(run(width=30).result["processes"][0]["command"]) == 30
    assert len(run().result["processes"][0]["command"]) == 80


def test_command_with_line_breaks_stays_on_one_line(run):
    run.proc.spawn(100, ["bash", "-c", "a=1\n\tb=2\necho \x1b[31m"])
    result = run().result
    assert result["processes"][0]["command"] == "bash -c a=1  b=2 echo ?[31m"
    assert len(result["report"].splitlines()) == len(result["processes"]) + 2


def test_report_header_and_columns(run):
    busy_host(run.proc)
    run.proc.spawn(700, ["sleep", "1"], uid=NO_NAME, rss_kb=0)
    result = run(count=3).result
    assert result["load_average"] == [0.15, 0.10, 0.05]
    assert result["memory"] == {"total": MEM_TOTAL_KB * KB, "available": (MEM_TOTAL_KB - 1258292) * KB}
    lines = result["report"].splitlines()
    assert lines[0] == "load average: 0.15, 0.10, 0.05  memory: 1.2G of 3.8G used  cpus: 2"
    assert lines[1].split() == ["PID", "USER", "%CPU", "%MEM", "RSS", "COMMAND"]
    assert len(lines) == 5
    columns = lines[1].index("COMMAND")
    assert lines[2][columns:] == "java -jar /srv/app/app.jar"
    assert lines[2][:columns].split()[:1] + lines[2][:columns].split()[2:] == ["100", "66.7", "25.0", "977M"]
    assert lines[3][:columns].split() == ["1", "root", "1.3", "0.3", "12M"]
    assert lines[3][columns:] == "/sbin/init splash"
    assert all(line.index(" ", 7) == 7 for line in lines[1:])  # PID right-aligned in 7


def test_report_cuts_long_user_names(run):
    run.proc.spawn(100, ["x"], uid=NO_NAME)
    assert run().result["report"].splitlines()[2].split()[1] == "987654"
    assert top_processes.report([{"pid": 1, "user": "artifactory", "cpu_percent": 0.0, "memory_percent": 0.0,
                                  "rss_bytes": 0, "command": "a"}], [0.0, 0.0, 0.0], {"total": 0, "available": 0},
                                1).splitlines()[2].split()[1] == "artifac+"


@pytest.mark.parametrize("size, shown", [(0, "0"), (1023, "1023"), (1024, "1.0K"), (512 * KB, "512K"),
                                         (1052672000, "1004M"), (4083691520, "3.8G"), (2 ** 50 * 3, "3.0P")])
def test_human_sizes(size, shown):
    assert top_processes.human(size) == shown


def test_check_mode_reports_the_same(run):
    busy_host(run.proc)
    result = run(check=True).result
    assert not result["changed"] and result["processes"][0]["pid"] == 100


@pytest.mark.parametrize("args, message", [
    ({"count": 0}, "count: 0 must be from 1 to 100"),
    ({"count": 101}, "count: 101 must be from 1 to 100"),
    ({"interval": 0.05}, "interval: 0.05 must be from 0.1 to 10 seconds"),
    ({"interval": 11}, "interval: 11.0 must be from 0.1 to 10 seconds"),
    ({"width": 5}, "width: 5 must be 10 or more"),
    ({"user": "no-such-user-jvmops"}, "user: there is no user 'no-such-user-jvmops'"),
    ({"sort": "io"}, "value of sort must be one of: cpu, memory"),
])
def test_bad_input_fails_naming_the_option(run, monkeypatch, args, message):
    monkeypatch.setattr(top_processes, "sample", lambda: pytest.fail("processes read"))
    out = run(**args)
    assert out.failed and out.result["msg"].startswith(message), out.result["msg"]


def test_real_proc(invoke, monkeypatch):
    """Against this host's /proc, sleeping for real."""
    monkeypatch.setattr(top_processes, "_sleep", top_processes.time.sleep)
    result = invoke(top_processes.main, {"interval": 0.1, "count": 100}).result
    processes = result["processes"]
    assert processes and not result["changed"] and result["cpus"] >= 1
    assert result["memory"]["total"] > 0 and len(result["load_average"]) == 3
    assert all(p["cpu_percent"] >= 0 and p["memory_percent"] >= 0 and p["rss_bytes"] >= 0 and p["command"]
               for p in processes)
    assert len(result["report"].splitlines()) == len(processes) + 2
    mine = [p for p in processes if p["pid"] == os.getpid()]
    assert not mine or mine[0]["rss_bytes"] > 0
