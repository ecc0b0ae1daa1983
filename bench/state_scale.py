"""State scale: the state store's insert and lookup cost at 10^4, 10^5 and 10^6 articles, and its size.

Articles are committed as the export ledger commits them (a transaction per
part of 5,000), with a G1b alias for one in three; lookups go by id, by
canonical URL and by alias, at random. Figures per size: microseconds per
insert and per lookup, and the file's size on disk.

    python bench/state_scale.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import report

from stdcrawl.state import Export, Part, StateStore

PART = 5000


def export(n: int) -> Export:
    url = f"https://www.stdaily.com/web/English/2023-05/08/content_{1_000_000 + n}.html"
    alias = (f"https://www.stdaily.com/English/WorldNews/202305/{n:032x}.shtml",) if n % 3 == 0 else ()
    return Export("article", f"stdaily:{1_000_000 + n}", url, alias, "Cooperation", "2023-05-08T10:00:00+08:00",
                  f"sha256:{n:064x}", 1, "A summary of the article.")


def measure(size: int, tmp: Path) -> dict[str, float]:
    path = tmp / f"state-{size}.sqlite"
    store = StateStore(path)
    started = time.perf_counter()
    for first in range(0, size, PART):
        batch = [export(n) for n in range(first, min(first + PART, size))]
        store.commit(batch, "bench", "2026-11-27T00:00:00+00:00", Part(f"part-{first}", "articles", len(batch), 1, "x"))
    insert = (time.perf_counter() - started) / size
    keys = []
    r = random.Random(size)
    for _ in range(3000):
        n = r.randrange(size)
        e = export(n)
        keys.append(r.choice([e.id, e.url, *e.aliases]))
    started = time.perf_counter()
    assert all(store.lookup(key) for key in keys)
    lookup = (time.perf_counter() - started) / len(keys)
    store.close()
    return {"insert_us": round(insert * 1e6, 1), "lookup_us": round(lookup * 1e6, 1), "size_mb": round(path.stat().st_size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = {size: measure(int(size), Path(tmp)) for size in args.sizes.split(",")}
    report("state_scale", {"sizes": figures})


if __name__ == "__main__":
    main()
