"""What each enabled component costs a page in the crawler's process.

A full crawl by stdcrawl as shipped of a replica of N Cooperation articles
(default 2000), run twice in the same script run: once as it is, for the
crawler's real CPU per page (the run's own stats, ``stdcrawl/cpu/crawler_seconds``),
and once under cProfile with its log at INFO, where Scrapy names every
component it enabled: downloader middlewares, spider
middlewares, item pipelines, extensions. Those, the spider, the download
handler and the feed exporter are each charged the profiled time of their
methods entered from outside the component, less what those spend in another
component's methods (a spider middleware's output is the spider's callback
pulled through it: that is the spider's). What it calls that is no component,
the extraction worker's pipe say, is charged to it; Scrapy's own helpers it
calls are its cost too, but not the spider middleware manager's chain, through
which a middleware pulls the layers under it. cProfile's clock is the
wall's, so the time the process sat waiting (the event loop's poll with
nothing to do, waiting for the table's committer to exit) is taken out of the
total and of the component that waited (the poll, the sleeps, and a wait
for a child process made through ``subprocess``). A function two components
share, inherited plumbing, goes to no component. What no component holds is
the start-up's imports (their own line) and the machinery: Scrapy's and
Twisted's engine, scheduler, middleware managers and HTTP client, the event
loop, and stdcrawl code in no component (the worker's replies arriving).

Figures: per component, microseconds of profiled time a page (a page: a
request the replica served) and the share of the crawler's profiled total;
the share applied to the real CPU a page gives an estimate in real
microseconds. cProfile slows Python calls more than C work, so the estimate
is the share, not a timing; a one-off cost (the collector's one collection at
the engine's start) shows spread over the pages.

    python bench/components.py [--articles N] [--top K]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import pstats
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run, stdcrawl_command, report

from stdcrawl.replica.model import ReplicaConfig
from stdcrawl.replica.server import ReplicaServer

_KINDS = ("downloader middleware", "spider middleware", "item pipeline", "extension")
_ENABLED = re.compile(rf"Enabled ({'|'.join(_KINDS)})s:\n(\[.*?\])", re.S)
# Not listed by Scrapy's log, but on every page's path.
_ALSO = {
    "spider": "stdcrawl.spiders.channel.CooperationSpider",
    "download handler": "stdcrawl.downloadhandlers.http11.HeaderCappedHTTP11DownloadHandler",
    "feed exporter": "stdcrawl.feeds.exporters.RecordingJsonLinesExporter",
}
Key = tuple[str, int, str]


def enabled(log: str) -> list[tuple[str, str]]:
    """(kind, class path) of every component the crawl's log says Scrapy enabled, then the ones on every page's path."""
    found = [(kind, path) for kind, listed in _ENABLED.findall(log) for path in ast.literal_eval(listed)]
    return found + list(_ALSO.items())


def methods(path: str) -> set[Key]:
    """pstats keys of every function the class defines or inherits (``object``'s aside)."""
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    keys: set[Key] = set()
    for klass in cls.__mro__[:-1]:
        for value in vars(klass).values():
            function = inspect.unwrap(value.__func__ if isinstance(value, (classmethod, staticmethod)) else value)
            code = getattr(function, "__code__", None)
            if code is not None:
                keys.add((code.co_filename, code.co_firstlineno, code.co_name))
    return keys


def charged(stats: pstats.Stats, own: set[Key], others: set[Key]) -> float:
    """Seconds in the component's methods entered from outside it, less their calls into other components."""
    table = stats.stats  # type: ignore[attr-defined]
    total = 0.0
    for key in own & set(table):
        total += sum(entry[3] for caller, entry in table[key][4].items() if caller not in own)
    for key in (others - own) & set(table):
        total -= sum(entry[3] for caller, entry in table[key][4].items() if caller in own)
    return total


def owned(found: list[tuple[str, str, set[Key]]]) -> tuple[list[tuple[str, str, set[Key]]], set[Key]]:
    """Each component's own methods, and the shared ones.

    A function two components inherit (Scrapy's ``BaseSpiderMiddleware``
    plumbing, ``object_ref.__new__`` under every Request and Item) is one
    pstats entry whoever ran it: it is charged to neither, and counts as
    machinery, like the code of no component.
    """
    seen: dict[Key, int] = {}
    for _, _, keys in found:
        for key in keys:
            seen[key] = seen.get(key, 0) + 1
    shared = {key for key, n in seen.items() if n > 1 or key[0].endswith(_TRACKREF)}
    return [(kind, path, keys - shared) for kind, path, keys in found], shared


def boundaries(stats: pstats.Stats) -> tuple[set[Key], float]:
    """Functions charged to no component, and the seconds spent idle.

    The functions: waiting for another process to exit, and the spider
    middleware manager's wrappers, through which a spider middleware pulls the
    output of the layers under it (the spider's callback, the next middleware).
    """
    table = stats.stats  # type: ignore[attr-defined]
    machinery = {k for k in table if (k[0].endswith("subprocess.py") and k[2] in _CHILD_WAITS)
                 or k[0].endswith(_SPIDER_CHAIN)}
    idle = sum(table[k][2] for k in table if k[0] == "~" and k[2] in _IDLE)
    return machinery, idle


_IDLE = {"<method 'poll' of 'select.epoll' objects>", "<method 'poll' of 'select.poll' objects>",
         "<built-in method select.select>", "<built-in method time.sleep>", "<built-in method posix.waitpid>"}
_CHILD_WAITS = {"run", "wait", "communicate", "_wait", "_communicate"}
_SPIDER_CHAIN = "scrapy/core/spidermw.py"
_TRACKREF = "scrapy/utils/trackref.py"  # object_ref.__new__: every Request, Response and Item made, by anyone


def imports(stats: pstats.Stats) -> float:
    """Seconds spent importing modules (start-up, mostly): the outermost ``import`` of each."""
    table = stats.stats  # type: ignore[attr-defined]
    return sum(v[3] for k, v in table.items() if k[0] == "<frozen importlib._bootstrap>" and k[2] == "_find_and_load")


# The crawl under cProfile, exiting with the crawl's own status: python -c RUNNER PROFILE MODULE ARGS...
RUNNER = """
import cProfile, runpy, sys
out, module = sys.argv[1], sys.argv[2]
sys.argv = [module, *sys.argv[3:]]
profiler = cProfile.Profile()
status = 0
profiler.enable()
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
except SystemExit as exc:
    status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
finally:
    profiler.disable()
    profiler.dump_stats(out)
sys.exit(status)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40, help="components shown, costliest first")
    args = parser.parse_args()
    with ReplicaServer(ReplicaConfig(articles=args.articles), cache=True) as replica, tempfile.TemporaryDirectory() as tmp:
        stats_file = Path(tmp) / "stats.json"
        plain = run(stdcrawl_command(replica.url, Path(tmp) / "plain", STDCRAWL_STATS_FILE=str(stats_file)), replica)
        if plain.returncode != 0:
            sys.exit(f"stdcrawl failed:\n{plain.output[-3000:]}")
        crawler_cpu = json.loads(stats_file.read_text(encoding="utf-8"))["stdcrawl/cpu/crawler_seconds"]
        profile = Path(tmp) / "crawler.prof"
        command = stdcrawl_command(replica.url, Path(tmp) / "profiled", LOG_LEVEL="INFO")
        profiled = run([sys.executable, "-c", RUNNER, str(profile), *command[2:]], replica)
        if profiled.returncode != 0 or not profile.exists():
            sys.exit(f"stdcrawl under cProfile failed:\n{profiled.output[-3000:]}")
        stats = pstats.Stats(str(profile))
    pages = plain.requests
    machinery, idle = boundaries(stats)
    profiled_total = stats.total_tt - idle  # type: ignore[attr-defined]
    listed = enabled(profiled.output)
    if len({kind for kind, _ in listed}) < len(_KINDS) + len(_ALSO):
        sys.exit("bench/components.py: the crawl's log did not name its enabled components (Scrapy's 'Enabled ...' lines)")
    found, shared = owned([(kind, path, methods(path)) for kind, path in listed])
    everything = set().union(machinery, shared, *(keys for _, _, keys in found))
    imported = imports(stats)
    rows = []
    for kind, path, keys in found:
        seconds = charged(stats, keys, everything)
        share = seconds / profiled_total
        rows.append({
            "component": path, "kind": kind,
            "profiled_us_per_page": round(seconds * 1e6 / pages, 1),
            "share": round(share, 4),
            "estimated_us_per_page": round(share * crawler_cpu * 1e6 / pages, 1),
        })
    rows.sort(key=lambda r: -r["share"])
    components = sum(r["share"] for r in rows)
    for r in rows[: args.top]:
        print(f"{r['estimated_us_per_page']:8.1f} µs  {r['share']:6.1%}  {r['kind']:<22} {r['component']}", file=sys.stderr)
    report("components", {
        "articles": args.articles,
        "pages": pages,
        "crawler_cpu_ms_per_page": round(crawler_cpu * 1000 / pages, 3),
        "profiled_ms_per_page": round(profiled_total * 1000 / pages, 3),  # idle time taken out
        "idle_s": round(idle, 2),
        "components_share": round(components, 4),
        "imports_share": round(imported / profiled_total, 4),  # start-up, mostly: Scrapy's, spidermon's, stdcrawl's modules
        # Scrapy, Twisted, the event loop, and stdcrawl code in no component (the worker's replies, say).
        "machinery_share": round(1 - components - imported / profiled_total, 4),
        "components": rows,
    })


if __name__ == "__main__":
    main()
