"""Run every benchmark, one after the other, and print the table the README shows.

    python3 -m pip install -e '.[bench]'   # once: the peers of the extraction benchmark (trafilatura, newspaper4k)
    python3 bench/run_all.py               # about 25 minutes on 2 cores

Each benchmark appends its figures (with the machine) to bench/results/<name>.jsonl.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Each script with the arguments run_all gives it (its defaults otherwise).
SCRIPTS: dict[str, list[str]] = {
    "throughput.py": [],
    "extraction.py": [],
    "incremental_cost.py": [],
    "memory_peak.py": [],
    "state_scale.py": [],
    "fault_matrix.py": [],
    "reextract_cost.py": [],
    "archive_cost.py": [],
    "table_reads.py": ["--runs", "300", "--partitionings", "none,year"],  # the shipped layout against the baseline
    "components.py": [],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    started = time.monotonic()
    results = {}
    for script, script_args in SCRIPTS.items():
        print(f"== {script} {' '.join(script_args)}", flush=True)
        proc = subprocess.run([sys.executable, str(HERE / script), *script_args], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-3000:], sep="\n")
            return 1
        results[script] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(table(results))
    print(f"all benchmarks: {time.monotonic() - started:.0f} s")
    return 0


def table(r: dict[str, dict]) -> str:
    t, e, i, m, s, f, x, a, d, c = (r[name] for name in SCRIPTS)
    big = max(i["archives"], key=int)
    v = t["variants"]
    shipped = next(row for row in d["tables"] if row["partitioning"] == "year" and row["maintained"])
    baseline = next(row for row in d["tables"] if row["partitioning"] == "none" and not row["maintained"])
    rows = [
        ("throughput", f"{t['stdcrawl_pages_per_s']} pages/s vs bare Scrapy {t['bare_pages_per_s']}: ratio {t['ratio']} "
                       f"(goal {t['goal_ratio']}); CPU {t['stdcrawl_cpu_s_per_1000_articles']} s vs "
                       f"{t['bare_cpu_s_per_1000_articles']} s per 1,000 articles (+{t['added_cpu_ms_per_article']} ms an article)"),
        ("  archive", f"without it {v['no_archive']['pages_per_s']} pages/s (ratio {v['no_archive']['ratio']}): "
                      f"{t['archive_ms_per_page']} ms a page"),
        ("  by process", f"the crawler's process {t['crawler_cpu_s_per_1000_articles']} s per 1,000 articles "
                         f"(+{t['added_crawler_cpu_ms_per_article']} ms an article), its helpers {t['helpers_cpu_s_per_1000_articles']} s"),
        ("  table", f"the commit at the end of a run: {t['table_commit_cpu_s']} CPU s"),
        ("  workers", f"extraction in the crawler's process: {v['extraction_in_crawler']['pages_per_s']} pages/s "
                      f"(ratio {v['extraction_in_crawler']['ratio']})"),
        ("  gc", f"Python's collector settings: {v['python_gc']['pages_per_s']} pages/s (ratio {v['python_gc']['ratio']})"),
        ("extraction", f"{e['stdcrawl']['ms_median']} ms/article page (p95 {e['stdcrawl']['ms_p95']}), "
                       f"{e['stdcrawl_listing']['ms_median']} ms/list page, {e.get('speedup_vs_trafilatura')}x trafilatura; "
                       f"body F1 {e['stdcrawl']['body_f1_mean']} (min {e['stdcrawl']['body_f1_min']}), title "
                       f"{e['stdcrawl']['title_exact']}, date {e['stdcrawl']['date_exact']}, authors {e['stdcrawl']['authors_exact']}"),
        ("  peers", f"trafilatura {e['trafilatura']['ms_median']} ms, body F1 {e['trafilatura']['body_f1_mean']}; "
                    f"newspaper4k {e['newspaper4k']['ms_median']} ms, body F1 {e['newspaper4k']['body_f1_mean']}"),
        ("incremental", f"{big} articles: unchanged re-run {i['archives'][big]['unchanged']['requests']} requests; "
                        f"+10 new {i['archives'][big]['new_10']['requests']}; +100 new {i['archives'][big]['new_100']['requests']}; "
                        f"same for 1,000: {not i['grows_with_archive']}"),
        ("memory", f"the crawler's peak RSS {m['peak_rss_mb']} MB, {m['bytes_kept_per_article']} bytes kept per article "
                   f"(goal: 20,000 under {m['goal_mb_at_20000']} MB); the largest process of the run (the table's "
                   f"committer) {m['largest_process_rss_mb']} MB"),
        ("state", ", ".join(f"{n}: insert {v['insert_us']} us, lookup {v['lookup_us']} us, {v['size_mb']} MB" for n, v in s["sizes"].items())),
        ("faults", f"{len(f['rows'])} cases (faults, kill -9 points): lost {f['lost']}, duplicated {f['duplicated']}, "
                   f"off-site requests {f['off_site']}"),
        ("warc", f"{x['archive']['bytes_per_1000_articles'] / 1e6:.1f} MB per 1,000 articles; reextract "
                 f"{x['reextract']['pages_per_s']} pages/s, 0 requests; writing {a['stdcrawl']['write_us_per_page']} us a page "
                 f"(fastwarc alone {a['libraries']['fastwarc']['write_us_per_page']}, warcio {a['libraries']['warcio']['write_us_per_page']})"),
        ("components", f"the crawler's {c['crawler_cpu_ms_per_page']} ms a page: {c['components_share']:.0%} in its enabled "
                       f"components, costliest " + ", ".join(f"{row['component'].rsplit('.', 1)[1]} {row['estimated_us_per_page']} us"
                                                              for row in c["components"][:4])),
        ("table reads", f"{d['runs']} runs: by year, maintained: {shipped['data_files']} files, commit {shipped['commit_ms_mean']} ms, "
                        f"read all {shipped['read_all_ms']} ms, a year {shipped['read_year_ms']} ms; unpartitioned, left alone: "
                        f"{baseline['data_files']} files, {baseline['commit_ms_mean']} ms, {baseline['read_all_ms']} ms, "
                        f"{baseline['read_year_ms']} ms"),
    ]
    return "\n".join(f"{name:<12} {value}" for name, value in rows)


if __name__ == "__main__":
    sys.exit(main())
