"""Sizes, times and durations as zh-TW users read them."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Taipei"
ETA_SOON_S = 5.0


def format_size(num_bytes: float) -> str:
    if num_bytes < 1024:
        return f"{int(num_bytes)} B"
    if num_bytes < 1024 * 1024:
        return f"{num_bytes / 1024:.1f} KB"
    return f"{num_bytes / 1024 / 1024:.1f} MB"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def display_timezone(name: str | None) -> str:
    """The IANA name of the zone times are shown in: the browser's ``name`` when known,
    else Asia/Taipei."""
    return _zone(name).key


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def format_time(
    value: str | None,
    timezone: str | None = None,
    *,
    brief: bool = False,
    now: datetime | None = None,
) -> str:
    """An ISO 8601 time in ``timezone`` (the browser's; Asia/Taipei when unknown), as
    "2026-11-28 14:00:00"; ``brief`` leaves out this year ("11-28 14:00:00", for tables
    that must fit the page). "—" when there is no time."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    local = moment.astimezone(_zone(timezone))
    this_year = (now or datetime.now(local.tzinfo)).astimezone(local.tzinfo).year
    if brief and local.year == this_year:
        return local.strftime("%m-%d %H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} 秒"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} 分 {seconds} 秒"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小時 {minutes} 分"


def _eta_step(seconds: float) -> int:
    """Coarser the further off: an estimate that moves by a second on every poll reads as
    noise, and nobody plans an hour-long wait to the second."""
    if seconds < 60:
        return 5
    if seconds < 3600:
        return 10
    return 60


def format_eta(seconds: float | None) -> str:
    """An estimate of the time left: "約剩 2 分 10 秒", "約剩 45 秒", "即將完成" under a few
    seconds; "" when there is no usable estimate."""
    if seconds is None or isinstance(seconds, bool) or not math.isfinite(seconds) or seconds < 0:
        return ""
    if seconds < ETA_SOON_S:
        return "即將完成"
    step = _eta_step(seconds)
    total = step * math.floor(seconds / step + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    units = ((hours, "小時"), (minutes, "分"), (secs, "秒"))
    parts = [f"{value} {unit}" for value, unit in units if value]
    return "約剩 " + " ".join(parts)


_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]$~<>|:])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_MARKDOWN_LINE_START = re.compile(r"^([#>+-]|\d+[.)](?=\s|$))")


def markdown_text(value: Any) -> str:
    """Text from the file (names, warnings) made literal in Markdown: "NT$" must not start
    a formula, "_" or "*" must not turn into emphasis, a leading "-" or "1." must not make
    a list, a line break must not end a list item."""
    text = _MARKDOWN_INLINE.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(value)))
    return _MARKDOWN_LINE_START.sub(lambda match: f"{match[1][:-1]}\\{match[1][-1]}", text)
