"""Downloader middlewares of stdcrawl, and the reading of the download settings they share.

:func:`settings_errors` checks every download setting at once, for a check
before the crawl starts; :func:`number_setting` reads one in ``from_crawler``
and raises :class:`BadSetting`, whose message is one line naming the setting.
"""

from __future__ import annotations

from scrapy.settings import BaseSettings

# name -> (whole numbers only, least value, what it is)
DOWNLOAD_SETTINGS: dict[str, tuple[bool, float, str]] = {
    "STDCRAWL_MAX_RETRY_AFTER": (False, 0, "a number of seconds"),
    "STDCRAWL_MAX_HEADER_BYTES": (True, 0, "a whole number of bytes (0: no cap)"),
    "STDCRAWL_MAX_ROBOTSTXT_BYTES": (True, 1, "a whole number of bytes, 1 or more"),
}


class BadSetting(ValueError):
    """A download setting that is not the number it must be."""


def number_setting(settings: BaseSettings, name: str) -> float:
    """The value of one of DOWNLOAD_SETTINGS, checked; an int for the whole-number ones."""
    whole, least, what = DOWNLOAD_SETTINGS[name]
    raw = settings.get(name)
    try:
        value: float = int(raw) if whole else float(raw)
    except (TypeError, ValueError):
        raise BadSetting(f"{name}={raw!r}: must be {what}") from None
    if not value >= least:  # also false for NaN
        raise BadSetting(f"{name}={raw!r}: must be {what}")
    return value


def settings_errors(settings: BaseSettings) -> list[str]:
    """One line per download setting that cannot be used (empty when all can)."""
    errors = []
    for name in DOWNLOAD_SETTINGS:
        try:
            number_setting(settings, name)
        except BadSetting as exc:
            errors.append(str(exc))
    return errors
