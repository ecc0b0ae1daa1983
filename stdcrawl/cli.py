"""The ``stdcrawl`` command: a thin layer over the package and Scrapy's crawler process.

    stdcrawl crawl [CHANNEL] [options]     the scheduled run: scrapy crawl's options, an exit status, a summary
    stdcrawl reextract [CHANNEL] [options] the archived pages read again by today's extraction, offline
    stdcrawl demo                          serve a replica, crawl it into data/, say where it went
    stdcrawl replica serve [options]       serve the replica on 127.0.0.1 until Ctrl-C
    stdcrawl replica truth [options] -o F  write the replica's expected records as JSONL
    stdcrawl extract PAGE.html --url URL   print one page's record as JSON
    stdcrawl lake verify ROOT              check every run folder of a lake (local path or s3://bucket/prefix)

Exit status: 0 done, 1 failed, 2 bad usage or (``extract``) not an article.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from stdcrawl import __version__
from stdcrawl.replica.model import DEFAULT_TODAY, FAULTS, ReplicaConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _replica_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--articles", type=int, default=300, help="Cooperation articles at epoch 0 (default 300)")
    parser.add_argument("--others", type=int, default=None, help="articles of each other channel (default articles/10, at least 10)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed serves the same site (default 1)")
    parser.add_argument("--epoch", type=int, default=0, help="move time forward: new, edited and removed articles (default 0)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=DEFAULT_TODAY, help="the day epoch 0 ends (YYYY-MM-DD)")
    parser.add_argument("--page-size", type=int, default=15, help="entries per list page (default 15)")
    parser.add_argument("--drift", choices=("markup", "meta"), default="", help="a changed site: 'markup' is --markup "
                        "redesign, 'meta' drops every article's meta line (for testing the monitors)")
    parser.add_argument("--markup", choices=("standard", "redesign", "renamed"), default="standard", help="the pages' markup: the two CMS templates "
                        "(standard), every page in a markup no selector knows (redesign), or every class and id "
                        "renamed (renamed)")
    parser.add_argument("--crawl-delay", type=float, default=0, help="a Crawl-delay in robots.txt, seconds (default none)")
    parser.add_argument("--retry-after", type=int, default=0,
                        help="the article that answers 503 twice sends Retry-After: this many seconds (default none)")
    parser.add_argument("--faults", default="", metavar="NAME,...",
                        help="faults to inject, comma-separated, or 'all': " + ", ".join(FAULTS))
    parser.add_argument("--fault-pages", type=int, default=2, help="articles hit by each fault (default 2)")
    parser.add_argument("--stall-seconds", type=float, default=3.0, help="how long the 'stall' fault keeps quiet (default 3)")
    parser.add_argument("--fault-list-page", type=int, default=3, help="the Cooperation list page the list-* faults hit (default 3)")
    parser.add_argument("--fault-list-family", choices=("web", "legacy"), default="web",
                        help="the list the list-* faults hit: /web/ node pages or legacy common_list pages (default web)")
    parser.add_argument("--header-mb", type=int, default=600, help="MiB of headers the huge-headers fault sends (default 600)")


def _config(args: argparse.Namespace) -> ReplicaConfig:
    if args.articles < 1 or args.epoch < 0 or args.page_size < 1 or (args.others is not None and args.others < 0):
        raise SystemExit(_usage("--articles and --page-size must be positive, --epoch and --others not negative"))
    faults = tuple(FAULTS) if args.faults == "all" else tuple(f for f in args.faults.split(",") if f)
    if unknown := [f for f in faults if f not in FAULTS]:
        raise SystemExit(_usage(f"unknown fault {', '.join(unknown)}; the faults are: {', '.join(FAULTS)}"))
    if args.fault_pages < 1 or args.stall_seconds < 0 or args.fault_list_page < 1 or args.header_mb < 0:
        raise SystemExit(_usage("--fault-pages and --fault-list-page must be positive, --stall-seconds and "
                                "--header-mb not negative"))
    try:
        return ReplicaConfig(
            seed=args.seed, articles=args.articles, others=args.others, epoch=args.epoch, today=args.today,
            page_size=args.page_size, drift=args.drift, crawl_delay=args.crawl_delay, retry_after=args.retry_after,
            faults=faults, fault_pages=args.fault_pages, stall_seconds=args.stall_seconds, markup=args.markup,
            fault_list_page=args.fault_list_page, fault_list_family=args.fault_list_family, header_mb=args.header_mb,
        )
    except ValueError as exc:
        raise SystemExit(_usage(str(exc))) from None


def _usage(message: str) -> int:
    print(f"stdcrawl: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stdcrawl", description="Crawl the English edition of Science and Technology Daily.")
    parser.add_argument("--version", action="version", version=f"stdcrawl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("crawl", help="crawl a channel (default Cooperation): stdcrawl crawl --help", add_help=False)
    commands.add_parser("reextract", help="read the WARC archive again with today's extraction, sending no request: "
                        "stdcrawl reextract --help", add_help=False)

    demo = commands.add_parser("demo", help="serve a replica of the site, crawl it into the data dir, show the output")
    demo.add_argument("--data-dir", default="data", help="where the output goes (default data/)")
    _replica_options(demo)

    replica = commands.add_parser("replica", help="the offline replica of www.stdaily.com")
    replica_commands = replica.add_subparsers(dest="replica_command", required=True)
    serve = replica_commands.add_parser("serve", help="serve the replica until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: any free port; the URL is printed)")
    _replica_options(serve)
    truth = replica_commands.add_parser("truth", help="write the records a correct crawl exports, as JSONL")
    truth.add_argument("--channel", default="Cooperation")
    truth.add_argument("-o", "--output", required=True, help="file to write, - for stdout")
    _replica_options(truth)

    lake = commands.add_parser("lake", help="tools for the lake's users")
    lake_commands = lake.add_subparsers(dest="lake_command", required=True)
    verify = lake_commands.add_parser("verify", help="check manifests, _SUCCESS, part checksums and counts, record schemas")
    verify.add_argument("root", help="the lake root: a local path or s3://bucket/prefix (credentials from the AWS environment)")
    verify.add_argument("--endpoint-url", help="an S3-compatible endpoint (MinIO, Ceph); default AWS_ENDPOINT_URL")

    rebuild_table = lake_commands.add_parser("rebuild-table", help="rebuild the current-articles table from the lake's change log")
    rebuild_table.add_argument("root", help="the lake root: a local path or s3://bucket/prefix")
    rebuild_table.add_argument("--endpoint-url", help="an S3-compatible endpoint (MinIO, Ceph); default AWS_ENDPOINT_URL")

    state = commands.add_parser("state", help="tools for the state store")
    state_commands = state.add_subparsers(dest="state_command", required=True)
    rebuild = state_commands.add_parser("rebuild", help="rebuild a lost state store from the lake alone")
    rebuild.add_argument("--data-dir", default="data", help="the data dir whose state and lake are meant (default data/)")
    rebuild.add_argument("--lake", help="the lake root: a local path or s3://bucket/prefix (default <data dir>/lake)")
    rebuild.add_argument("--state", type=Path, help="the state file to write, which must not exist yet (default <data dir>/state.sqlite)")
    rebuild.add_argument("--endpoint-url", help="an S3-compatible endpoint (MinIO, Ceph); default AWS_ENDPOINT_URL")

    extract = commands.add_parser("extract", help="print the record of one saved article page as JSON")
    extract.add_argument("page", type=Path, help="the saved HTML page")
    extract.add_argument("--url", required=True, help="the page's URL on the site (any stdaily host)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["crawl"]:
        from stdcrawl.commands.crawl import main as crawl

        return crawl(argv[1:])  # Scrapy's own options, checked before Scrapy starts
    if argv[:1] == ["reextract"]:
        from stdcrawl.commands.reextract import main as reextract

        return reextract(argv[1:])  # stdcrawl crawl's options and its own
    args = build_parser().parse_args(argv)
    if args.command == "extract":
        return _extract(args.page, args.url)
    if args.command == "replica" and args.replica_command == "serve":
        return _serve(args)
    if args.command == "replica" and args.replica_command == "truth":
        return _truth(args)
    if args.command == "lake" and args.lake_command == "verify":
        return _verify(args.root, args.endpoint_url)
    if args.command == "lake" and args.lake_command == "rebuild-table":
        return _rebuild_table(args.root, args.endpoint_url)
    if args.command == "state" and args.state_command == "rebuild":
        return _rebuild_state(args)
    if args.command == "demo":
        from stdcrawl.demo import run_demo

        return run_demo(_config(args), Path(args.data_dir))
    return _usage(f"unknown command {args.command!r}")


def _verify(root: str, endpoint_url: str | None) -> int:
    from stdcrawl.lake.stores import open_store
    from stdcrawl.lake.verify import exit_status, table, verify

    opened = _open_lake(root, endpoint_url)
    if isinstance(opened, int):
        return opened
    lake, settings = opened
    try:
        checks = verify(open_store(lake, settings))
    except Exception as exc:  # the store cannot be read: say so in one line
        print(f"stdcrawl: cannot read the lake at {root}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(table(checks))
    return exit_status(checks)


def _open_lake(root: str, endpoint_url: str | None) -> tuple[Any, Any] | int:
    """The lake URI and the settings to reach it, or the exit status of a one-line usage error."""
    from stdcrawl.lake import LakeURI, LakeURIError
    from stdcrawl.project import project_settings

    try:
        lake = LakeURI.parse(root)
    except LakeURIError as exc:
        return _usage(str(exc).replace("STDCRAWL_LAKE_URI", "ROOT"))
    if lake.scheme == "file" and not Path(lake.prefix).is_dir():
        return _usage(f"no lake at {root}: not a directory")
    return lake, project_settings({"AWS_ENDPOINT_URL": endpoint_url} if endpoint_url else {})


def _rebuild_table(root: str, endpoint_url: str | None) -> int:
    from stdcrawl.lake.stores import open_store
    from stdcrawl.table import CurrentArticles, TableError, lake_runs
    from stdcrawl.table.changelog import ChangeLogError

    opened = _open_lake(root, endpoint_url)
    if isinstance(opened, int):
        return opened
    lake, settings = opened
    table = CurrentArticles.in_lake(lake, settings)
    try:
        result = table.rebuild(lake_runs(open_store(lake, settings)), replace=True)
    except (TableError, ChangeLogError) as exc:
        print(f"stdcrawl: cannot rebuild the table from {root}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"The current-articles table at {table.uri} was rebuilt from the lake's change log: version {result.version}, "
          f"{result.inserted} stories.")
    return EXIT_OK


def _rebuild_state(args: argparse.Namespace) -> int:
    from stdcrawl.lake import LakeURI, LakeURIError
    from stdcrawl.lake.stores import open_store
    from stdcrawl.project import project_settings
    from stdcrawl.state import StateError
    from stdcrawl.state.rebuild import rebuild

    root = args.lake or str(Path(args.data_dir) / "lake")
    try:
        lake = LakeURI.parse(root)
    except LakeURIError as exc:
        return _usage(str(exc).replace("STDCRAWL_LAKE_URI", "--lake"))
    if lake.scheme == "file" and not Path(lake.prefix).is_dir():
        return _usage(f"no lake at {root}: not a directory")
    state = args.state or Path(args.data_dir) / "state.sqlite"
    settings = project_settings({"AWS_ENDPOINT_URL": args.endpoint_url} if args.endpoint_url else {})
    try:
        done = rebuild(open_store(lake, settings), state)
    except StateError as exc:
        return _usage(str(exc))
    except Exception as exc:  # the lake cannot be read: one line
        print(f"stdcrawl: cannot rebuild from the lake at {root}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"State store {state} rebuilt from {root}: {done.runs} runs, {done.parts} parts, {done.articles} articles. "
          "The next run walks every list to its end.")
    return EXIT_OK


def _extract(page: Path, url: str) -> int:
    from stdcrawl.extract import NotAnArticle, extract_article
    from stdcrawl.urls import canonicalize

    canonical = canonicalize(url)
    if canonical is None:
        return _usage(f"--url {url!r} is not a URL on www.stdaily.com, stdaily.com or m.stdaily.com")
    try:
        html = page.read_bytes()
    except OSError as exc:
        return _usage(f"cannot read {page}: {exc.strerror or exc}")
    try:
        article = extract_article(html, canonical)
    except NotAnArticle as exc:
        print(f"stdcrawl: not an article: {page}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(article.to_dict(), ensure_ascii=False, indent=2))
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from stdcrawl.demo import LOCAL_SETTINGS
    from stdcrawl.replica.server import ReplicaServer

    try:
        server = ReplicaServer(_config(args), host=args.host, port=args.port)
    except OSError as exc:
        return _usage(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    print(f"Replica of www.stdaily.com serving at {server.url}", flush=True)
    local = " ".join(f"-s {name}={value}" for name, value in LOCAL_SETTINGS.items() if name != "LOG_LEVEL")
    print(f"Crawl it with: stdcrawl crawl -s STDCRAWL_SITE_URL={server.url} {local}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


def _truth(args: argparse.Namespace) -> int:
    from stdcrawl.channels import find_channel
    from stdcrawl.replica.model import SiteModel
    from stdcrawl.replica.truth import expected_records

    channel = find_channel(args.channel)
    if channel is None:
        return _usage(f"unknown channel {args.channel!r}")
    records = expected_records(SiteModel(_config(args)), channel.name)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if args.output == "-":
        sys.stdout.write(lines)
    else:
        try:
            Path(args.output).write_text(lines, encoding="utf-8")
        except OSError as exc:
            return _usage(f"cannot write {args.output}: {exc.strerror or exc}")
        print(f"{len(records)} expected records of {channel.name} written to {args.output}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
