"""Reading a profile file and validating it completely: every error names the file, the dotted key and the problem."""

from __future__ import annotations

import hashlib
import math
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from growth_sim.errors import DatabaseError, ModelError, ProfileError
from growth_sim.profile.types import (
    BloatTarget,
    Derived,
    Lagged,
    Milestone,
    Profile,
    SteadySettings,
    TextWidth,
    Width,
    hour_of_label,
)
from growth_sim.resources import data_dir
from growth_sim.timeline.quantities import parse_duration, parse_rate, parse_size

CURVE_MAX = 10_000  # hour-of-day weights are percent-like; larger values only risk integer overflow
WEEKEND_MAX = 100.0
NUMBER_MAX = 1e10  # no count, rate, day or width of a profile is larger; keeps the schedule's int64 exact
RATIO_MAX = 1000.0


def profile_path(name_or_path: str) -> Path:
    """The file of a profile given by name (``taskpilot``) or by path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.is_file():
        return candidate
    return data_dir("profiles") / f"{name_or_path}.toml"


def available_profiles() -> list[str]:
    """Names of the profiles that ship with growth-sim."""
    return sorted(p.stem for p in data_dir("profiles").glob("*.toml"))


def load_profile(name_or_path: str) -> Profile:
    """Read and validate a profile; raise `ProfileError` with file, key and problem on any defect."""
    path = profile_path(name_or_path)
    if not path.is_file():
        known = ", ".join(available_profiles())
        raise ProfileError(f"profile {name_or_path!r} not found (no file {path}); known profiles: {known}")
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return _Reader(path, raw, hashlib.sha256(raw_bytes).hexdigest()).profile()


class _Reader:
    """Validates the raw TOML tree; every error names the file and the dotted key."""

    def __init__(self, path: Path, raw: dict[str, Any], content_hash: str) -> None:
        self.path, self.raw, self.content_hash = path, raw, content_hash

    def fail(self, key: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.path}: {key}: {problem}")

    def table(self, key: str, value: Any = None, *, required: bool = True) -> dict[str, Any]:
        node = self._lookup(key) if value is None else value
        if node is None and not required:
            return {}
        if not isinstance(node, dict):
            raise self.fail(key, "missing section" if node is None else "must be a table")
        return node

    def _lookup(self, key: str) -> Any:
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return node

    def number(self, key: str, value: Any, *, minimum: float = 0.0, maximum: float = NUMBER_MAX,
               integer: bool = False) -> float:
        if value is None:
            raise self.fail(key, "missing value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"{value!r} is not a number")
        if integer and not float(value).is_integer():
            raise self.fail(key, f"{value!r} must be a whole number")
        if value < minimum:
            raise self.fail(key, f"{value!r} must be >= {minimum:g}")
        if value > maximum:
            raise self.fail(key, f"{value!r} must be <= {maximum:g}")
        return value

    def size(self, key: str, value: Any) -> int:
        if value is None:
            raise self.fail(key, "missing value")
        try:
            return parse_size(value)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be a non-empty string")
        return value

    def profile(self) -> Profile:
        from growth_sim.models import bound_model

        head = self.table("profile")
        model = self.text("profile.model", head.get("model"))
        try:
            package = bound_model(model, self.model_params(), self.path.parent)
        except ModelError as exc:
            raise self.fail("profile.model", str(exc)) from None
        tables = package.TABLES
        if identity := getattr(package, "IDENTITY", ""):  # what else the profile stands for (a schema file)
            self.content_hash = hashlib.sha256(f"{self.content_hash}:{identity}".encode()).hexdigest()
        start_text = self.text("profile.start", head.get("start"))
        try:
            start = datetime.fromisoformat(start_text)
        except ValueError:
            raise self.fail("profile.start", f"{start_text!r} is not an ISO timestamp") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        if start.minute or start.second or start.microsecond:
            raise self.fail("profile.start", "must fall on a whole hour")
        history_days = self.number("profile.history_days", head.get("history_days"), minimum=1)
        milestones = self.milestones(tables)
        derived = self.derived(tables, milestones[0].counts)
        rates = {}
        for name, value in self.table("rates", required=False).items():
            if name in milestones[0].counts or any(d.name == name for d in derived):
                raise self.fail(f"rates.{name}", "is already given by the milestones or [derived]")
            rates[name] = self.number(f"rates.{name}", value)
        streams = set(milestones[0].counts) | {d.name for d in derived} | set(rates)
        undefined = [(d.name, p) for d in derived for p in d.per if p not in streams]
        if undefined:
            name, per = undefined[0]
            raise self.fail(f"derived.{name}.per",
                            f"unknown stream {per!r}; known: {', '.join(sorted(streams))}")
        self.check_derived_cycles(derived)
        lagged = self.lagged(streams)
        curve_raw = self.table("curve")
        hourly = curve_raw.get("hourly")
        if not isinstance(hourly, list) or len(hourly) != 24:
            got = f"{len(hourly)} values" if isinstance(hourly, list) else repr(hourly)
            raise self.fail("curve.hourly", f"needs 24 values (one per hour of the day), got {got}")
        curve = tuple(int(self.number(f"curve.hourly[{i}]", v, maximum=CURVE_MAX, integer=True))
                      for i, v in enumerate(hourly))
        if not any(curve):
            raise self.fail("curve.hourly", "all hours are zero: nothing would ever happen")
        weekend = self.number("curve.weekend_factor", curve_raw.get("weekend_factor", 1.0), maximum=WEEKEND_MAX)
        vacuum = self.table("vacuum", required=False)
        profile = Profile(
            name=self.text("profile.name", head.get("name")),
            description=str(head.get("description", "")),
            model=model,
            start=start,
            history_days=history_days,
            milestones=milestones,
            derived=derived,
            rates=rates,
            lagged=lagged,
            curve=curve,
            weekend_factor=weekend,
            widths=self.widths(tables),
            budget={k: self.size(f"budget.{k}", v) for k, v in self.table("budget", required=False).items()},
            bloat=self.bloat(tables),
            vacuum_check_hours=int(self.number("vacuum.check_every_hours", vacuum.get("check_every_hours", 1),
                                               minimum=1, integer=True)),
            vacuum_quiet_hours=int(self.number("vacuum.quiet_hours", vacuum.get("quiet_hours", 0),
                                               integer=True)),
            model_params=self.model_params(),
            path=self.path,
            content_hash=self.content_hash,
            steady=self.steady(),
        )
        if check := getattr(package, "check", None):  # what the model refuses beyond its [model] table
            try:
                check(profile)
            except ModelError as exc:
                raise self.fail("model", str(exc)) from None
        return profile

    def steady(self) -> SteadySettings | None:
        """The optional [steady] section: ``vus``, ``vus_rate`` and ``[steady.presets]``."""
        spec = self.table("steady", required=False)
        if not spec:
            return None
        unknown = set(spec) - {"vus", "vus_rate", "presets"}
        if unknown:
            raise self.fail(f"steady.{sorted(unknown)[0]}", "unknown key (use vus, vus_rate, presets)")
        vus = int(self.number("steady.vus", spec.get("vus"), minimum=1, integer=True))
        rate_text = self.text("steady.vus_rate", spec.get("vus_rate"))
        try:
            rate = parse_rate(rate_text)
        except ValueError as exc:
            raise self.fail("steady.vus_rate", str(exc)) from None
        if rate <= 0:
            raise self.fail("steady.vus_rate", "must be above zero")
        presets = {}
        for name, preset in self.table("steady.presets", spec.get("presets"), required=False).items():
            key = f"steady.presets.{name}"
            preset = self.table(key, preset)
            if set(preset) != {"vus", "duration"}:
                raise self.fail(key, "needs exactly vus and duration (e.g. { vus = 50, duration = \"1h\" })")
            users = int(self.number(f"{key}.vus", preset["vus"], minimum=1, integer=True))
            try:
                seconds = parse_duration(self.text(f"{key}.duration", preset["duration"]))
            except ValueError as exc:
                raise self.fail(f"{key}.duration", str(exc)) from None
            if seconds <= 0:
                raise self.fail(f"{key}.duration", "must be longer than zero")
            presets[name] = (users, seconds)
        return SteadySettings(vus, rate, presets)

    def milestones(self, tables: frozenset[str]) -> tuple[Milestone, ...]:
        rows = self.raw.get("milestones")
        if not isinstance(rows, list) or len(rows) < 2:
            raise self.fail("milestones", "needs at least two [[milestones]] (initial and one week)")
        result: list[Milestone] = []
        for i, row in enumerate(rows):
            key = f"milestones[{i}]"
            row = self.table(key, row)
            label = self.text(f"{key}.at", row.get("at"))
            hour = hour_of_label(label)
            if hour is None:
                raise self.fail(f"{key}.at", f"{label!r} is not a milestone: write 'initial' or 'week-N'")
            if i == 0 and hour != 0:
                raise self.fail(f"{key}.at", "the first milestone must be 'initial'")
            counts = {}
            for name, value in row.items():
                if name in ("at", "size"):
                    continue
                if name not in tables:
                    raise self.fail(f"{key}.{name}",
                                    f"unknown table; the model has {', '.join(sorted(tables))}")
                counts[name] = int(self.number(f"{key}.{name}", value, integer=True))
            if not counts:
                raise self.fail(key, "gives no table counts (e.g. issues = 500_000)")
            milestone = Milestone(label, hour, counts, self.size(f"{key}.size", row.get("size")))
            if result:
                prev = result[-1]
                if hour <= prev.hour:
                    raise self.fail(f"{key}.at", f"{label} does not come after {prev.label}")
                if set(counts) != set(prev.counts):
                    raise self.fail(key,
                                    f"must give the same tables as {prev.label}: {', '.join(prev.counts)}")
                for name, n in counts.items():
                    if n < prev.counts[name]:
                        raise self.fail(f"{key}.{name}",
                                        f"{n} is less than {prev.counts[name]} at {prev.label}")
                if milestone.size < prev.size:
                    raise self.fail(f"{key}.size", f"smaller than at {prev.label}")
            result.append(milestone)
        return tuple(result)

    def derived(self, tables: frozenset[str], milestone_counts: dict[str, int]) -> tuple[Derived, ...]:
        result = []
        for name, spec in self.table("derived", required=False).items():
            key = f"derived.{name}"
            spec = self.table(key, spec)
            operation = spec.get("operation", False)
            if not isinstance(operation, bool):
                raise self.fail(f"{key}.operation", f"{operation!r} must be true or false")
            if operation and name in tables:
                raise self.fail(f"{key}.operation", f"{name} is a table, not an operation")
            if not operation and name not in tables:
                raise self.fail(key, f"unknown table; the model has {', '.join(sorted(tables))} "
                                     "(for operations that are not rows of a table, set operation = true)")
            if name in milestone_counts:
                raise self.fail(key, "is already given by the milestones")
            per = spec.get("per")
            if isinstance(per, str):
                per = [per]
            if not isinstance(per, list) or not per or not all(isinstance(p, str) for p in per):
                raise self.fail(f"{key}.per", "must be a list of stream names")
            if name in per:
                raise self.fail(f"{key}.per", "a stream cannot grow with itself")
            if "initial" not in spec and len(per) != 1:
                raise self.fail(f"{key}.initial",
                                "a stream without `initial` grows in proportion to one stream")
            result.append(Derived(
                name=name,
                per=tuple(per),
                ratio=self.number(f"{key}.ratio", spec.get("ratio"), maximum=RATIO_MAX),
                initial=int(self.number(f"{key}.initial", spec["initial"], integer=True))
                if "initial" in spec else None,
                history_days=self.number(f"{key}.history_days",
                                         spec.get("history_days", self.raw["profile"]["history_days"]),
                                         minimum=1),
                operation=operation,
            ))
        return tuple(result)

    def check_derived_cycles(self, derived: tuple[Derived, ...]) -> None:
        """Refuse derived streams that grow with each other in a circle."""
        per = {d.name: d.per for d in derived}
        done: set[str] = set()

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done or name not in per:
                return
            if name in path[:-1]:
                cycle = path[path.index(name):]
                raise self.fail(f"derived.{cycle[0]}.per",
                                f"derived streams form a cycle: {' -> '.join(cycle)}")
            for other in per[name]:
                visit(other, (*path, other))
            done.add(name)

        for name in per:
            visit(name, (name,))

    def model_params(self) -> dict[str, Any]:
        """The [model] table as is, after checking that every ``*_mix`` table holds weights summing to 1."""
        params = self.table("model", required=False)
        for name, mix in params.items():
            if not name.endswith("_mix"):
                continue
            key = f"model.{name}"
            mix = self.table(key, mix)
            if not mix:
                raise self.fail(key, "needs at least one weight")
            total = sum(self.number(f"{key}.{choice}", weight) for choice, weight in mix.items())
            if abs(total - 1) > 1e-6:
                raise self.fail(key, f"weights sum to {total:g}, not 1")
        return params

    def lagged(self, streams: set[str]) -> tuple[Lagged, ...]:
        result = []
        for name, spec in self.table("lagged", required=False).items():
            key = f"lagged.{name}"
            spec = self.table(key, spec)
            of = self.text(f"{key}.of", spec.get("of"))
            if of not in streams:
                raise self.fail(f"{key}.of", f"unknown stream {of!r}")
            kind = spec.get("kind")
            if kind not in ("update", "delete"):
                raise self.fail(f"{key}.kind", f"{kind!r} must be 'update' or 'delete'")
            share = self.number(f"{key}.share", spec.get("share"))
            if share > 1:
                raise self.fail(f"{key}.share", f"{share!r} must be between 0 and 1")
            delay = int(self.number(f"{key}.delay_hours", spec.get("delay_hours"), integer=True))
            result.append(Lagged(name, of, kind, share, delay))
        deleted = [lg.of for lg in result if lg.kind == "delete"]
        if len(deleted) != len(set(deleted)):
            raise self.fail("lagged", "at most one delete stream per table")
        return tuple(result)

    def table_sections(self, section: str, tables: frozenset[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(table, dotted key, settings) of each sub-table of `section`, which must name a model table."""
        for name, spec in self.table(section, required=False).items():
            key = f"{section}.{name}"
            spec = self.table(key, spec)
            if name not in tables:
                raise self.fail(key, f"unknown table; the model has {', '.join(sorted(tables))}")
            yield name, key, spec

    def widths(self, tables: frozenset[str]) -> dict[str, Width]:
        result = {}
        for name, key, spec in self.table_sections("widths", tables):
            unknown = set(spec) - {"bytes_per_row", "text", "preview"}
            if unknown:
                raise self.fail(f"{key}.{sorted(unknown)[0]}",
                                "unknown key (use bytes_per_row, text, preview)")
            text = None
            if "text" in spec:
                t = self.table(f"{key}.text", spec["text"])
                lo = int(self.number(f"{key}.text.min", t.get("min"), integer=True))
                hi = int(self.number(f"{key}.text.max", t.get("max"), integer=True))
                if hi < lo:
                    raise self.fail(f"{key}.text.max", f"{hi} is below min {lo}")
                text = TextWidth(self.number(f"{key}.text.median", t.get("median"), minimum=1),
                                 self.number(f"{key}.text.sigma", t.get("sigma")), lo, hi)
            preview = self.table(f"{key}.preview", spec["preview"]) if "preview" in spec else {}
            result[name] = Width(
                bytes_per_row=self.size(f"{key}.bytes_per_row", spec["bytes_per_row"])
                if "bytes_per_row" in spec else None,
                text=text,
                preview_min=self.size(f"{key}.preview.min", preview.get("min", 0)),
                preview_max=self.size(f"{key}.preview.max", preview.get("max", 0)),
            )
        return result

    def bloat(self, tables: frozenset[str]) -> dict[str, BloatTarget]:
        result = {}
        for name, key, spec in self.table_sections("bloat", tables):
            band = spec.get("band")
            if not isinstance(band, list) or len(band) != 2:
                raise self.fail(f"{key}.band", "must be [low, high] in percent")
            low, high = (self.number(f"{key}.band", v) for v in band)
            target = self.number(f"{key}.target", spec.get("target", (low + high) / 2))
            if not low <= target <= high <= 100:
                raise self.fail(key, "needs 0 <= low <= target <= high <= 100")
            result[name] = BloatTarget(low, high, target)
        return result


def load_recorded_profile(name: str, content_hash: str) -> Profile:
    """The profile a database was initialised with (its ledger's name and hash); refused if it changed since."""
    profile = load_profile(name)
    if profile.content_hash != content_hash:
        raise DatabaseError(
            f"profile {name!r} ({profile.path}) changed since this database was initialised; "
            "restore it, or start a new database with `growth-sim init --force`")
    return profile
