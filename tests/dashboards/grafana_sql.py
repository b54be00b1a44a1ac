"""What Grafana and the grafana-clickhouse-datasource plugin do to a panel's SQL before
ClickHouse sees it, written from the plugin's documented behaviour, in the plugin's order:

1. `$__conditionalAll(condition, $var)` (plugin frontend): `1=1` when the variable is All or
   empty, the condition otherwise;
2. Grafana's template variables (`$var`, `${var}`, `${var:format}`, `[[var]]`): the plugin's own
   format for a bare variable puts a multi-value as `'a','b'` and a single value as is
   (unquoted); `singlequote` quotes and escapes `'` as `\\'`, `sqlstring` doubles `'`, `csv`
   joins with commas, `raw` leaves values alone, `text` uses the display text; the built-ins
   `$__from`/`$__to` (epoch ms), `$__interval`, `$__interval_ms`, `$__range_s` as Grafana sets them;
3. the backend macros (sqlds parsing: `$__name` or `$__name(args)` with nested brackets, args
   split on top-level commas and trimmed): `$__timeFilter(c)` → `c >= toDateTime(from) AND
   c <= toDateTime(to)`, `$__timeFilter_ms`, `$__dateFilter`, `$__dateTimeFilter`/`$__dt`,
   `$__fromTime`/`$__toTime` (`toDateTime(epoch s)`), `$__fromTime_ms`/`$__toTime_ms`
   (`fromUnixTimestamp64Milli(epoch ms)`), `$__timeInterval(c)`, `$__timeInterval_ms(c)`,
   `$__interval_s`.

Unlike Grafana, which leaves an unknown variable or macro in the text, this expander raises:
a typo in a dashboard should fail its test, not reach ClickHouse as `$perod`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Variable:
    """A dashboard variable's current selection (values, and their display texts)."""

    values: tuple[str, ...]
    texts: tuple[str, ...] | None = None
    multi: bool = False

    @classmethod
    def single(cls, value: str, text: str | None = None) -> Variable:
        return cls((value,), (text if text is not None else value,))

    @property
    def is_all(self) -> bool:
        return self.values in ((), ("",), ("$__all",))


class ExpansionError(ValueError):
    pass


# Grafana's variable syntax (public/app/features/variables/utils.ts, variableRegex).
_VARIABLE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}"
)
_MACRO = re.compile(r"\$__(\w+)")


def _join(values: Sequence[str], quote: Callable[[str], str]) -> str:
    return ",".join(quote(v) for v in values)


_FORMATS: dict[str, Callable[[Sequence[str]], str]] = {
    "singlequote": lambda vs: _join(vs, lambda v: "'" + v.replace("'", "\\'") + "'"),
    "sqlstring": lambda vs: _join(vs, lambda v: "'" + v.replace("'", "''") + "'"),
    "doublequote": lambda vs: _join(vs, lambda v: '"' + v.replace('"', '\\"') + '"'),
    "csv": lambda vs: ",".join(vs),
    "raw": lambda vs: ",".join(vs),
}


@dataclass(frozen=True)
class Expander:
    variables: Mapping[str, Variable]
    time_from: datetime
    time_to: datetime
    interval: timedelta = timedelta(seconds=60)

    def expand(self, sql: str) -> str:
        return self.macros(self.template(self.conditional_all(sql)))

    # --- 1. $__conditionalAll (frontend, before the variables) --------------------------------

    def conditional_all(self, sql: str) -> str:
        macro = "$__conditionalAll("
        index = sql.rfind(macro)
        while index != -1:
            args, end = _bracketed(sql, index + len(macro) - 1)
            if len(args) != 2:
                raise ExpansionError(f"$__conditionalAll needs 2 arguments: {sql[index:end]}")
            name = re.search(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+", args[1].strip())
            phrase = args[0]
            if name is not None and self._variable(name.group(0)).is_all:
                phrase = "1=1"
            sql = sql[:index] + phrase + sql[end:]
            index = sql.rfind(macro)
        return sql

    # --- 2. Template variables ------------------------------------------------------------------

    def template(self, sql: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2) or match.group(4)
            fmt = match.group(3) or match.group(6)
            if match.group(5):
                raise ExpansionError(f"field paths are not supported: {match.group(0)}")
            if name.startswith("__"):
                builtin = self._builtin(name, fmt)
                return match.group(0) if builtin is None else builtin
            variable = self._variable(name)
            if fmt is None:  # the plugin's format(): arrays quoted, a single value as is
                if variable.multi or len(variable.values) > 1:
                    return "'" + "','".join(variable.values) + "'"
                return variable.values[0]
            if fmt == "text":
                return ", ".join(variable.texts or variable.values)
            try:
                return _FORMATS[fmt](variable.values)
            except KeyError:
                raise ExpansionError(f"unsupported variable format {fmt!r}") from None

        return _VARIABLE.sub(replace, sql)

    def _variable(self, name: str) -> Variable:
        try:
            return self.variables[name]
        except KeyError:
            raise ExpansionError(f"unknown variable ${name}") from None

    def _builtin(self, name: str, fmt: str | None) -> str | None:
        """Grafana's global variables; None for a backend macro (expanded later)."""
        if name.removeprefix("__") in _MACROS or name == "__conditionalAll":
            return None
        if fmt is not None:
            raise ExpansionError(f"unsupported format {fmt!r} of ${name}")
        values = {
            "__from": str(_ms(self.time_from)),
            "__to": str(_ms(self.time_to)),
            "__interval": f"{int(self.interval.total_seconds())}s",
            "__interval_ms": str(int(self.interval.total_seconds() * 1000)),
            "__range_s": str(int((self.time_to - self.time_from).total_seconds())),
        }
        try:
            return values[name]
        except KeyError:
            raise ExpansionError(f"unknown variable or macro ${name}") from None

    # --- 3. Backend macros (sqlds) ----------------------------------------------------------------

    def macros(self, sql: str) -> str:
        out: list[str] = []
        position = 0
        for match in _MACRO.finditer(sql):
            if match.start() < position:
                continue
            name = match.group(1)
            if name not in _MACROS:
                raise ExpansionError(f"unknown macro $__{name}")
            args: list[str] = []
            end = match.end()
            if sql.startswith("(", end):
                args, end = _bracketed(sql, end)
                args = [a.strip() for a in args]
            out.append(sql[position : match.start()])
            out.append(_MACROS[name](self, args))
            position = end
        out.append(sql[position:])
        return "".join(out)


def _bracketed(text: str, open_at: int) -> tuple[list[str], int]:
    """Arguments of the bracket opening at `open_at` (split on commas at depth 1), and the
    index after the closing bracket."""
    depth = 0
    args: list[str] = []
    start = open_at + 1
    for i in range(open_at, len(text)):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(text[start:i])
                return args, i + 1
        elif char == "," and depth == 1:
            args.append(text[start:i])
            start = i + 1
    raise ExpansionError(f"unclosed bracket in {text[open_at : open_at + 60]!r}")


def _seconds(t: datetime) -> int:
    return int(t.astimezone(UTC).timestamp())


def _ms(t: datetime) -> int:
    return int(t.astimezone(UTC).timestamp() * 1000)


def _count(args: list[str], n: int, name: str) -> None:
    if len(args) != n:
        raise ExpansionError(f"$__{name} expects {n} argument(s), received {len(args)}")


def _date_time(t: datetime) -> str:
    return f"toDateTime({_seconds(t)})"


def _date_time64(t: datetime) -> str:
    return f"fromUnixTimestamp64Milli({_ms(t)})"


def _date(t: datetime) -> str:
    return f"toDate('{t.astimezone(UTC):%Y-%m-%d}')"


def _between(column: str, e: Expander, bound: Callable[[datetime], str]) -> str:
    return f"{column} >= {bound(e.time_from)} AND {column} <= {bound(e.time_to)}"


def _filter(name: str, bound: Callable[[datetime], str]) -> Callable[[Expander, list[str]], str]:
    """`$__timeFilter(c)` and its kin: the column within the dashboard's range."""

    def expand(e: Expander, args: list[str]) -> str:
        _count(args, 1, name)
        return _between(args[0], e, bound)

    return expand


def _date_time_filter(e: Expander, args: list[str]) -> str:
    _count(args, 2, "dateTimeFilter")
    d, t = args
    return f"({_between(d, e, _date)}) AND ({_between(t, e, _date_time)})"


def _time_interval(e: Expander, args: list[str]) -> str:
    _count(args, 1, "timeInterval")
    seconds = max(int(e.interval.total_seconds()), 1)
    return f"toStartOfInterval(toDateTime({args[0]}), INTERVAL {seconds} second)"


def _time_interval_ms(e: Expander, args: list[str]) -> str:
    _count(args, 1, "timeInterval_ms")
    ms = max(int(e.interval.total_seconds() * 1000), 1)
    return f"toStartOfInterval(toDateTime64({args[0]}, 3), INTERVAL {ms} millisecond)"


_MACROS: dict[str, Callable[[Expander, list[str]], str]] = {
    "fromTime": lambda e, _: _date_time(e.time_from),
    "toTime": lambda e, _: _date_time(e.time_to),
    "fromTime_ms": lambda e, _: _date_time64(e.time_from),
    "toTime_ms": lambda e, _: _date_time64(e.time_to),
    "timeFilter": _filter("timeFilter", _date_time),
    "timeFilter_ms": _filter("timeFilter_ms", _date_time64),
    "dateFilter": _filter("dateFilter", _date),
    "dateTimeFilter": _date_time_filter,
    "dt": _date_time_filter,
    "timeInterval": _time_interval,
    "timeInterval_ms": _time_interval_ms,
    "interval_s": lambda e, _: str(max(int(e.interval.total_seconds()), 1)),
}
