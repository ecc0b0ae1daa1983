"""Run every benchmark, one after the other, and print the table the README shows.

    python3 -m pip install -e '.[bench]'   # once: the peers of the extraction benchmark
    python3 bench/run_all.py               # about 15 minutes on 2 cores

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
SCRIPTS = ["throughput.py", "extraction.py", "incremental_cost.py", "memory_peak.py", "state_scale.py", "fault_matrix.py",
           "reextract_cost.py"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    started = time.monotonic()
    results = {}
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        proc = subprocess.run([sys.executable, str(HERE / script)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-3000:], sep="\n")
            return 1
        results[script] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(table(results))
    print(f"all benchmarks: {time.monotonic() - started:.0f} s")
    return 0


def table(r: dict[str, dict]) -> str:
    t, e, i, m, s, f, x = (r[name] for name in SCRIPTS)
    big = max(i["archives"], key=int)
    rows = [
        ("throughput", f"{t['stdcrawl_pages_per_s']} pages/s vs bare Scrapy {t['bare_pages_per_s']}: ratio {t['ratio']} (goal 0.85); "
                       f"CPU {t['stdcrawl_cpu_s_per_1000_articles']} s vs {t['bare_cpu_s_per_1000_articles']} s per 1,000 articles"),
        ("extraction", f"{e['stdcrawl']['ms_median']} ms/page (p95 {e['stdcrawl']['ms_p95']}), {e.get('speedup_vs_trafilatura')}x "
                       f"trafilatura; body F1 {e['stdcrawl']['body_f1_mean']} (min {e['stdcrawl']['body_f1_min']}), title "
                       f"{e['stdcrawl']['title_exact']}, date {e['stdcrawl']['date_exact']}, authors {e['stdcrawl']['authors_exact']}"),
        ("incremental", f"{big} articles: unchanged re-run {i['archives'][big]['unchanged']['requests']} requests; "
                        f"+10 new {i['archives'][big]['new_10']['requests']}; +100 new {i['archives'][big]['new_100']['requests']}; "
                        f"same for 1,000: {not i['grows_with_archive']}"),
        ("memory", f"peak RSS {m['peak_rss_mb']} MB: growth {m['growth']:.0%} (goal < 25%)"),
        ("state", ", ".join(f"{n}: insert {v['insert_us']} us, lookup {v['lookup_us']} us, {v['size_mb']} MB" for n, v in s["sizes"].items())),
        ("faults", f"{len(f['rows'])} cases (faults, kill -9 points): lost {f['lost']}, duplicated {f['duplicated']}, "
                   f"off-site requests {f['off_site']}"),
        ("archive", f"{x['archive']['bytes_per_1000_articles'] / 1e6:.1f} MB per 1,000 articles; +{x['crawl']['archive_adds_cpu_ms_per_page']} "
                    f"CPU ms per crawled page; reextract {x['reextract']['pages_per_s']} pages/s (goal 1,000), 0 requests"),
    ]
    return "\n".join(f"{name:<12} {value}" for name, value in rows)


if __name__ == "__main__":
    sys.exit(main())
