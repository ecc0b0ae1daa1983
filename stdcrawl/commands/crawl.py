"""``stdcrawl crawl``: Scrapy's ``crawl`` with every argument checked first, an exit status and a run summary.

    stdcrawl crawl [CHANNEL] [-a NAME=VALUE] [-s NAME=VALUE] [-o FILE[:FORMAT] | -O FILE[:FORMAT]] ...

The same options as ``scrapy crawl``; before Scrapy starts, every setting
(:mod:`stdcrawl.config`) and every spider argument
(:mod:`stdcrawl.spiders.options`) is checked: a bad one is one ``Bad usage:``
line on stderr and exit 2, with no request made and nothing written.
``-o -`` / ``-O -`` (optionally ``-:FORMAT``) write the records to stdout, as
JSON lines by default; the summary then goes to stderr. The status and summary
come from :mod:`stdcrawl.report`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from scrapy.commands import crawl
from scrapy.exceptions import UsageError as ScrapyUsageError
from scrapy.settings import Settings

from stdcrawl import __version__, config, report
from stdcrawl.channels import CHANNELS, find_channel
from stdcrawl.spiders.options import ARGUMENTS, UsageError, parse

EXIT_USAGE = 2
SPIDER_ARGUMENTS = {
    "since": "YYYY-MM-DD: backfill from this date (by the date in the URL)",
    "until": "YYYY-MM-DD: backfill up to this date",
    "full_refresh": "true: fetch every article again; only new or changed ones are exported",
    "channel": "a channel's name or slug (the positional CHANNEL does the same)",
}


class Command(crawl.Command):
    def short_desc(self) -> str:
        return "Run a spider; exit non-zero when the run failed"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        stats = crawler.stats.get_stats() if crawler.stats else {}
        started = not self.crawler_process.bootstrap_failed
        run_report = report.build(stats, crawler.settings.get("STDCRAWL_RUN_ID") or "-", args[0], started=started)
        self.exitcode = run_report["exit_status"]
        out = sys.stderr if _writes_stdout(crawler.settings.getdict("FEEDS")) else sys.stdout
        print(report.summary(run_report), file=out)
        out.flush()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"Bad usage: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _epilog() -> str:
    channels = "\n".join(f"  {c.slug:<18} {c.name}" + (f" (printed \"{c.aliases[0]}\" earlier)" if c.aliases else "")
                         for c in CHANNELS)
    arguments = "\n".join(f"  -a {name}=...{' ' * (14 - len(name))}{text}" for name, text in SPIDER_ARGUMENTS.items())
    return (f"channels:\n{channels}\n\nspider arguments:\n{arguments}\n\nsettings (-s NAME=VALUE), with their defaults:\n"
            f"{config.help_text()}\n\nexit status: 0 the run did its job, 1 it failed, 2 bad usage")


def _outputs(argv: Sequence[str]) -> list[str]:
    """``-o -:jsonl`` has a value that starts with '-': argparse would take it for an option."""
    out, args = [], list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-o", "-O", "--output", "--overwrite-output") and args and args[0].startswith("-") and args[0] != "--":
            out.append(f"{arg}={args.pop(0)}")
        else:
            out.append(arg)
    return out


def _stdout_feed(value: str) -> str:
    if value == "-":
        return "-:jsonlines"  # Scrapy wants a format after the colon; JSON lines suit a pipe
    return value


def _writes_stdout(feeds: dict[str, Any]) -> bool:
    return any(str(uri).startswith("stdout:") for uri in feeds)


@dataclass(frozen=True)
class Variant:
    """A command that runs a crawl the way ``stdcrawl crawl`` does, with options of its own (``stdcrawl reextract``).

    ``options`` adds its arguments to the parser; ``prepare`` runs once the
    command line is in the settings, before anything is checked: it may change
    the spider arguments and the settings, and returns a bad-usage message or None.
    """

    prog: str
    usage: str
    description: str
    epilog: str = ""
    options: Callable[[argparse.ArgumentParser], None] | None = None
    prepare: Callable[[argparse.Namespace, Settings], str | None] | None = None


CRAWL = Variant(
    prog="stdcrawl crawl",
    usage="stdcrawl crawl [CHANNEL] [-a NAME=VALUE] [-s NAME=VALUE] [-o FILE[:FORMAT] | -O FILE[:FORMAT]] ...",
    description="Crawl one channel (default Cooperation) with the project's settings.",
)


def main(argv: Sequence[str], variant: Variant = CRAWL) -> int:
    """``stdcrawl crawl [CHANNEL] [scrapy crawl options]`` (or a variant's command line)."""
    from scrapy.crawler import AsyncCrawlerProcess

    from stdcrawl.addon import move_secrets
    from stdcrawl.project import project_settings

    command = Command()
    command.settings = project_settings()
    parser = _Parser(
        prog=variant.prog,
        usage=variant.usage,
        description=variant.description,
        epilog=variant.epilog + _epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        conflict_handler="resolve",
    )
    command.add_options(parser)
    if variant.options is not None:
        variant.options(parser)
    parser.add_argument("channel", nargs="*", help="the channel to crawl (default: cooperation)")
    parser.add_argument("--version", action="version", version=f"stdcrawl {__version__}")
    opts = parser.parse_args(_outputs(argv))
    opts.output = [_stdout_feed(o) for o in opts.output or []] or None
    opts.overwrite_output = [_stdout_feed(o) for o in opts.overwrite_output or []] or None
    if len(opts.channel) > 1:
        return _usage(f"one channel at a time, got {' '.join(opts.channel)}")
    name = opts.channel[0] if opts.channel else "Cooperation"
    channel = find_channel(name)
    if channel is None:
        return _usage(f"unknown channel {name!r}; one of: {', '.join(c.slug for c in CHANNELS)}")
    spider = "cooperation" if channel.slug == "cooperation" else "stdaily"
    try:
        command.process_options([spider], opts)
    except ScrapyUsageError as exc:
        return _usage(str(exc) or "bad options")
    if spider == "stdaily":
        if "channel" in opts.spargs and find_channel(opts.spargs["channel"]) != channel:
            return _usage(f"two channels given: {name} and -a channel={opts.spargs['channel']}")
        opts.spargs["channel"] = channel.slug
    settings = command.settings
    move_secrets(settings)
    if variant.prepare is not None and (message := variant.prepare(opts, settings)):
        return _usage(message)
    if problems := config.validate(settings.copy()):
        for problem in problems:
            print(f"Bad usage: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        parse(spider, "Cooperation" if spider == "cooperation" else None, opts.spargs, settings)
    except UsageError as exc:
        return _usage(str(exc))
    command.crawler_process = AsyncCrawlerProcess(settings)
    command.run([spider], opts)
    return int(command.exitcode)


def _usage(message: str) -> int:
    print(f"Bad usage: {message}", file=sys.stderr)
    return EXIT_USAGE


__all__ = ["ARGUMENTS", "CRAWL", "Command", "Variant", "main"]
