"""``stdcrawl reextract``: the archived pages read again by today's extraction, as a run of its own, offline.

    stdcrawl reextract [CHANNEL] [--runs RUN_ID ...] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--warc PATH ...]
                       [-a NAME=VALUE] [-s NAME=VALUE] [-o FILE[:FORMAT] | -O FILE[:FORMAT]] ...

It runs ``stdcrawl crawl`` (:mod:`stdcrawl.commands.crawl`: the same spider,
pipelines, state, lake and report, the same ``-a``/``-s``/``-o``/``-O`` options)
with every request answered from WARC files
(:mod:`stdcrawl.downloadermiddlewares.replay`) and none sent anywhere: the
HTTP download handlers are replaced by one that refuses
(:mod:`stdcrawl.downloadhandlers.offline`). The walk is a full refresh: every
archived article is read again; the state pipeline exports only stories whose
record changed (a new revision, its ``parser`` naming today's extraction), and
with an empty data dir every record is rebuilt from the archive alone.

Which files: by default every WARC file the finished runs of the configured
lake (``STDCRAWL_LAKE_URI``) list in their manifests; ``--warc PATH...`` reads
files (or folders of them) from anywhere instead, each path ending in its key
(``.../stdaily/warc/dt=YYYY-MM-DD/run=RUN/NNNNN.warc.gz``: a copy of a lake's
archive keeps it). ``--runs`` keeps the files of those runs, ``--since`` and
``--until`` those of runs started on those days (the ``dt`` of their folders).
Files of an S3 lake are downloaded to a temporary folder first.

Settings this command sets: ``STDCRAWL_REEXTRACT_WARC`` (the files),
``DOWNLOAD_HANDLERS`` (offline), ``ROBOTSTXT_OBEY`` off (robots.txt is not
archived: nothing is fetched); and, unless given with ``-s``, no politeness
delays, 16 requests at once, no ``Retry-After`` waits, and ``STDCRAWL_SITE_URL``
set to the host the pages were fetched from when they all came from one that
is not the site's (a replica), so that a record's ``fetched_url`` is the one
of the crawl that fetched it.

Bad usage (exit 2, one line): a path that is not such a file, a run the lake
does not hold or has not finished, no WARC file to read, ``-a full_refresh=false``.
A lake that cannot be read: one line, exit 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from scrapy.settings import SETTINGS_PRIORITIES, Settings

from stdcrawl import config
from stdcrawl.archive import ArchiveError
from stdcrawl.archive.index import lake_key
from stdcrawl.commands import crawl
from stdcrawl.lake import LakeURI
from stdcrawl.lake.stores import open_store
from stdcrawl.lake.warc import listed, runs_in_lake
from stdcrawl.paths import paths
from stdcrawl.urls import SITE_HOSTS

# Above the command line: a reextract never downloads, whatever -s says.
FORCED = SETTINGS_PRIORITIES["cmdline"] + 10
OFFLINE = "stdcrawl.downloadhandlers.offline.OfflineDownloadHandler"
# The archive is on local disk: no politeness to keep, the user may still say otherwise with -s.
LOCAL = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS": 16,
         "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "STDCRAWL_MAX_RETRY_AFTER": 0}

EPILOG = """archive:
  --warc PATH ...        WARC files or folders of them (default: every file the configured lake's manifests list)
  --runs RUN_ID ...      only the files of these runs (give the channel first: stdcrawl reextract cooperation --runs ...)
  --since/--until DAY    only the files of runs started on or after / on or before DAY (YYYY-MM-DD)

"""


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day: expected YYYY-MM-DD") from None


def _dt(key: str) -> dt.date:
    """The day of the run a WARC key belongs to (its ``dt=`` folder)."""
    return dt.date.fromisoformat(key.split("/dt=", 1)[1][:10])


def _options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("archive")
    group.add_argument("--warc", nargs="+", action="extend", metavar="PATH", help="WARC files, or folders of them")
    group.add_argument("--runs", nargs="+", action="extend", metavar="RUN_ID", help="only the files of these runs")
    group.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="only runs started on or after this day")
    group.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="only runs started on or before this day")


def _given(paths_given: list[str]) -> list[tuple[str, Path]] | str:
    """``(key, path)`` of the files given with --warc; a message when one cannot be used."""
    found: dict[str, Path] = {}
    for given in paths_given:
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.warc.gz") if not p.name.startswith("."))
            if not files:
                return f"--warc {given}: no .warc.gz file in that folder"
        elif path.is_file():
            files = [path]
        else:
            return f"--warc {given}: no such file or folder"
        for file in files:
            key = lake_key(file.resolve())
            if key is None:
                return (f"--warc {file}: not a file of a stdcrawl archive; its path must end in its key in the lake, "
                        "stdaily/warc/dt=YYYY-MM-DD/run=RUN/NNNNN.warc.gz, so that provenance can name it")
            found[key] = file.resolve()
    return sorted(found.items())


def _from_lake(lake: LakeURI, settings: Settings, runs: list[str] | None, cache: list[Path]) -> list[tuple[str, Path]] | str:
    """The files the lake's finished runs list (downloaded first from S3); a message when --runs names a run it lacks."""
    store = open_store(lake, settings)
    try:
        files = listed(store)
        finished, unfinished = runs_in_lake(store)
    except Exception as exc:  # the lake cannot be read: say so in one line
        print(f"stdcrawl: cannot read the lake at {lake.uri}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
        raise SystemExit(1) from None
    for run in runs or []:
        if run in unfinished and run not in finished:
            return f"run {run} is not finished in the lake at {lake.uri}: the next stdcrawl crawl finishes it; re-extract it then"
        if run not in finished:
            return f"run {run} is not in the lake at {lake.uri}"
        if not any(f.run_id == run for f in files):
            return (f"run {run} has no WARC files in the lake at {lake.uri} (it ran with STDCRAWL_ARCHIVE off, or before "
                    "stdcrawl kept an archive)")
    if runs:
        files = [f for f in files if f.run_id in runs]
    if lake.scheme == "file":
        return [(f.key, Path(lake.prefix) / f.key) for f in files]
    cache.append(Path(tempfile.mkdtemp(prefix="stdcrawl-reextract-")))
    out = []
    for f in files:
        target = cache[0] / f.key
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_bytes(store.get(f.key))
        except Exception as exc:
            print(f"stdcrawl: cannot read {f.key} from the lake at {lake.uri}: {type(exc).__name__}: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
        out.append((f.key, target))
    return out


def _prepare(opts: argparse.Namespace, settings: Settings, cache: list[Path]) -> str | None:
    if config.validate(settings.copy()):
        return None  # the crawl command reports the settings' problems, one line each
    if opts.spargs.get("full_refresh", "true").strip().lower() not in ("1", "true", "yes", "on"):
        return "stdcrawl reextract reads every archived article again: -a full_refresh cannot be turned off"
    opts.spargs["full_refresh"] = "true"
    if opts.since and opts.until and opts.since > opts.until:
        return f"--since {opts.since} is after --until {opts.until}"
    where = paths(settings)
    files = _given(opts.warc) if opts.warc else _from_lake(where.lake, settings, opts.runs, cache)
    if isinstance(files, str):
        return files
    if opts.warc and opts.runs:
        for run in opts.runs:
            if not any(f"/run={run}/" in key for key, _ in files):
                return f"no WARC file given belongs to run {run}"
        files = [(k, p) for k, p in files if k.split("/run=", 1)[1].split("/", 1)[0] in opts.runs]
    files = [(k, p) for k, p in files
             if (not opts.since or _dt(k) >= opts.since) and (not opts.until or _dt(k) <= opts.until)]
    if not files:
        where_from = "the files given" if opts.warc else f"the lake at {where.lake.uri}"
        return f"nothing to re-extract: {where_from} hold no WARC file of the runs and days asked for"
    from stdcrawl.downloadermiddlewares.replay import load

    try:
        index, _ = load(tuple(str(p) for _, p in files), where.lake.prefix if where.lake.scheme == "file" else None)
    except (ArchiveError, ValueError) as exc:
        print(f"stdcrawl: cannot re-extract: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    settings.set("STDCRAWL_REEXTRACT_WARC", [str(p) for _, p in files], priority=FORCED)
    settings.set("DOWNLOAD_HANDLERS", {scheme: OFFLINE for scheme in ("http", "https", "ftp", "s3")}, priority=FORCED)
    settings.set("ROBOTSTXT_OBEY", False, priority=FORCED)
    for name, value in LOCAL.items():
        settings.set(name, value, priority="spider")
    others = {base for base in index.bases if base.split("://", 1)[1].split(":", 1)[0] not in SITE_HOSTS}
    if len(others) == 1 and others == index.bases:
        settings.set("STDCRAWL_SITE_URL", others.pop(), priority="spider")  # pages fetched from a stand-in (a replica)
    return None


USAGE = ("stdcrawl reextract [CHANNEL] [--runs RUN_ID ...] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--warc PATH ...] "
         "[-s NAME=VALUE] [-o FILE[:FORMAT] | -O FILE[:FORMAT]] ...")
DESCRIPTION = ("Read the archived pages of a channel (default Cooperation) again with today's extraction, as a run of "
               "its own: the same pipelines, state and exports as stdcrawl crawl, and no request to the site.")


def main(argv: Sequence[str]) -> int:
    """``stdcrawl reextract [CHANNEL] [options]``."""
    cache: list[Path] = []  # where files of an S3 lake are downloaded to, removed when the run is over
    variant = crawl.Variant(prog="stdcrawl reextract", usage=USAGE, description=DESCRIPTION, epilog=EPILOG,
                            options=_options, prepare=lambda opts, settings: _prepare(opts, settings, cache))
    try:
        return crawl.main(argv, variant)
    finally:
        for folder in cache:
            shutil.rmtree(folder, ignore_errors=True)
