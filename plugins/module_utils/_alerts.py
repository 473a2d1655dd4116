# Copyright: (c) 2026, jvmops.deploy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Alerts of the monitoring checks (disk_alert, process_check ...) and the state that mutes them.

A check measures something on the monitored host and builds alert() dicts. AlertState keeps, in a small
JSON file on that host, the alerts already sent: settle() drops an alert sent for the same host, check,
subject and level less than mute_for seconds ago (the source document's ``:mute-for``), reports a
``recovery`` once when a subject with a recorded alert is checked and no longer alerts, and leaves the
records of subjects not checked this run alone. save() writes the file atomically, only when the state
changed and never in check mode.

alert_state_spec() is the argument_spec fragment of the common options (state_file, mute_for) that a
check module merges into its own; parse_duration() reads mute_for. A user mistake raises
AlertOptionError whose message starts with the option's name.

The file: ``{"version": 1, "alerts": [{"host", "check", "subject", "level", "value", "threshold",
"sent_at"}, ...]}``, mode 0600 in a directory created 0700. Tasks on one host run one after the other, so
the module reads and writes it without a lock.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import time

LEVELS = ("warning", "critical", "recovery")
DEFAULT_STATE_FILE = "/var/lib/jvmops/alerts.json"
STATE_VERSION = 1
DURATION = re.compile(r"^(?P<number>\d+)\s*(?P<unit>[smhd]?)$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
RECORD_KEYS = ("host", "check", "subject", "level", "value", "threshold", "sent_at")


class AlertOptionError(Exception):
    """A user mistake in an option (the message starts with the option's name), or a state file that
    cannot be used."""


def alert(host, check, subject, level, value, threshold, message):
    """One alert: what was checked where, how bad (warning, critical or recovery), and the words for it."""
    if level not in LEVELS:
        raise ValueError(f"alert level must be one of {', '.join(LEVELS)}, not {level!r}")
    return {"host": host, "check": check, "subject": subject, "level": level, "value": value,
            "threshold": threshold, "message": message}


def alert_state_spec():
    """The argument_spec fragment of the options every check module has (documented in the jvmops.deploy.alerts doc
    fragment); merge it into the module's own."""
    return {
        "host_label": {"type": "str"},
        "state_file": {"type": "path", "default": DEFAULT_STATE_FILE},
        "mute_for": {"type": "raw", "default": 0},
    }


def parse_duration(value, option):
    """Seconds in value: an int of seconds, or a string such as 90, 90s, 30m, 1h or 2d."""
    rule = "must be a duration like 90s, 30m, 1h or 2d"
    if isinstance(value, bool) or value is None:
        raise AlertOptionError(f"{option}: {value!r} {rule}")
    if isinstance(value, int):
        if value < 0:
            raise AlertOptionError(f"{option}: {value!r} {rule}, not negative")
        return value
    text = str(value).strip().lower()
    if text.startswith("-"):
        raise AlertOptionError(f"{option}: {str(value)!r} {rule}, not negative")
    match = DURATION.match(text)
    if not match:
        raise AlertOptionError(f"{option}: {str(value)!r} {rule} (a whole number and one of the units s, m, h, d)")
    return int(match["number"]) * UNIT_SECONDS[match["unit"]]


def _key(record):
    return (record["host"], record["check"], record["subject"])


class AlertState:
    """The alerts already sent from this host, as recorded in path; now() gives the time in seconds."""

    def __init__(self, path, now=time.time):
        self.path = path
        self.now = now
        self.records = {}
        self._loaded = {}

    def load(self):
        """Read the file; a missing file is an empty state. Returns self."""
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            raw = None
        except OSError as exc:
            raise AlertOptionError(f"state_file: cannot read {self.path}: {exc.strerror or exc}") from exc
        records = {}
        if raw is not None and raw.strip():
            try:
                data = json.loads(raw.decode("utf-8"))
                if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                    raise ValueError(f"not a version {STATE_VERSION} alert state")
                for entry in data["alerts"]:
                    record = {name: entry[name] for name in RECORD_KEYS}
                    if record["level"] not in LEVELS or not isinstance(record["sent_at"], (int, float)):
                        raise ValueError(f"bad record {entry!r}")
                    records[_key(record)] = record
            except (ValueError, KeyError, TypeError) as exc:
                raise AlertOptionError(
                    f"state_file: {self.path} is not an alert state this collection wrote ({exc}); "
                    "move it away (the alerts it muted are then sent again) or choose another state_file") from exc
        self.records = records
        self._loaded = copy.deepcopy(records)
        return self

    def settle(self, check, host, found_alerts, checked_subjects, mute_seconds):
        """The alerts to report of this run of check on host, and the state updated for them.

        found_alerts: the alert() dicts the check found now. checked_subjects: the subjects it looked at (a
        mapping subject -> current value also gives the value for the recovery message). An alert already
        recorded with the same level less than mute_seconds ago is dropped; any other alert is reported and
        recorded (level, value, threshold, sent_at). A subject that has a record, was checked and has no alert
        now gives one recovery alert ("<subject> recovered: <value>") and its record is removed. Records of
        other checks, hosts, or subjects not checked now stay as they are.
        """
        now = self.now()
        report = []
        alerting = set()
        for found in found_alerts:
            key = (host, check, found["subject"])
            alerting.add(key)
            recorded = self.records.get(key)
            if (recorded is not None and recorded["level"] == found["level"]
                    and now - recorded["sent_at"] < mute_seconds):
                continue
            report.append(found)
            self.records[key] = {"host": host, "check": check, "subject": found["subject"], "level": found["level"],
                                 "value": found["value"], "threshold": found["threshold"], "sent_at": now}
        values = checked_subjects if isinstance(checked_subjects, dict) else {}
        for subject in checked_subjects:
            key = (host, check, subject)
            if key in alerting or key not in self.records:
                continue
            recorded = self.records.pop(key)
            value = values.get(subject)
            message = f"{subject} recovered: {value}" if value is not None else f"{subject} recovered"
            report.append(alert(host, check, subject, "recovery", value, recorded["threshold"], message))
        return report

    @property
    def changed(self):
        """Whether the state differs from the file as loaded."""
        return self.records != self._loaded

    def dump(self, records=None):
        """The file's text for the current state (or for records)."""
        records = self.records if records is None else records
        alerts = [records[key] for key in sorted(records, key=lambda k: tuple(map(str, k)))]
        return json.dumps({"version": STATE_VERSION, "alerts": alerts}, indent=1, sort_keys=True) + "\n"

    def diff(self):
        """The state file as loaded and as it is now, for diff mode ({"before", "after"} and their headers)."""
        return {"before": self.dump(self._loaded), "after": self.dump(), "before_header": self.path,
                "after_header": self.path}

    def save(self, module):
        """Write the state (mode 0600) through a temporary file and module.atomic_move, when it changed and the
        module is not in check mode. Returns whether the state changed."""
        if not self.changed:
            return False
        if module.check_mode:
            return True
        directory = os.path.dirname(self.path) or "."
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700)
                os.chmod(directory, 0o700)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(self.path)}.")
        except OSError as exc:
            raise AlertOptionError(f"state_file: cannot write {self.path}: {exc.strerror or exc}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.dump())
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            module.atomic_move(tmp, self.path)
            os.chmod(self.path, 0o600)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        self._loaded = copy.deepcopy(self.records)
        return True
