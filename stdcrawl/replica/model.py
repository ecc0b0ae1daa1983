"""The replica's site model: every story, list entry and hostile page of the site.

Built from a :class:`ReplicaConfig` alone, deterministically, so the pages the
server renders and the ground truth the tests compare against come from one
source. Each story draws from its own random stream (seed and index), so
adding articles or epochs never changes the stories that were already there.

Timeline (SITE.md): G1 in 2021; G1b from 2022 to mid 2024; G2 from mid 2022 to
August 2024, during which many stories are published at both a G1b and a G2
URL ("twins"); G3 from September 2024. The newest stories are a few days old,
as on a live site. Later epochs move time forward a day each: new stories on
top, and some *young* stories (published in the last two days, the ones a
scheduled crawl re-checks) edited or removed (404).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from functools import cached_property

from stdcrawl.replica.prose import CHINESE_NAMES, SOURCES, Prose

EPOCH_START = dt.date(2021, 7, 15)
G1B_FROM = dt.date(2022, 1, 1)
TWINS_FROM = dt.date(2022, 7, 1)
G2_ONLY_FROM = dt.date(2024, 7, 1)
G3_FROM = dt.date(2024, 9, 1)
DEFAULT_TODAY = dt.date(2026, 11, 20)
NESTED_DIVS_PATH = "/web/English/2025-05/05/content_199999.html"
YOUNG_DAYS = 2  # stories this recent are the ones epochs edit and remove
RECENT = 5  # Cooperation stories published in the last YOUNG_DAYS days at epoch 0
SPAM_HOSTS = ("www.stdaily-news.example", "stdaily.tw-mirror.example", "www.kjrb-copy.example")


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    name: str
    folder: str | None  # legacy list folder; None: no legacy list
    has_content: bool


CHANNEL_SPECS: tuple[ChannelSpec, ...] = (
    ChannelSpec("Cooperation", "WorldNews", True),
    ChannelSpec("Innovation China", "ChinaNews", True),
    ChannelSpec("Comment", "BusinessNews", True),
    ChannelSpec("Experts in China", "Service", False),
    ChannelSpec("News", "News", False),
    ChannelSpec("Insight", None, False),
)


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    seed: int = 1
    articles: int = 300  # Cooperation stories at epoch 0
    others: int | None = None  # stories of each other channel with content; default articles // 10, at least 10
    epoch: int = 0
    today: dt.date = DEFAULT_TODAY  # the day epoch 0 ends
    page_size: int = 15
    new_per_epoch: int = 5
    edits_per_epoch: int = 2
    removals_per_epoch: int = 1
    # The site changed its article template: "markup" (every article in a redesign no selector
    # knows) or "meta" (the meta line is gone, so no page reads as an article). "" for none.
    drift: str = ""
    crawl_delay: float = 0  # robots.txt asks for this Crawl-delay (0: none)
    retry_after: int = 0  # the article that answers 503 twice says Retry-After: this many seconds (0: no header)
    # Faults to inject (see FAULTS), each on `fault_pages` articles chosen by the seed.
    faults: tuple[str, ...] = ()
    fault_pages: int = 2
    stall_seconds: float = 3.0


    @property
    def other_count(self) -> int:
        return self.others if self.others is not None else max(10, self.articles // 10)



# The faults the replica can inject, and whether a retry within the run gets past them.
FAULTS: dict[str, str] = {
    "5xx": "500, 502, 503 or 504 twice, then the page",
    "5xx-retry-after": "503 with Retry-After: 1 twice, then the page",
    "429": "429 with Retry-After: 1 once, then the page",
    "reset": "the connection reset in the middle of the body, twice",
    "stall": "no answer for stall_seconds (past the download timeout), once",
    "short": "a body shorter than its Content-Length, twice",
    "truncated": "half a page with a correct Content-Length, twice",
    "empty": "an empty 200, twice",
    "soft404": "a 200 'page not found' page, twice",
    "charset": "a charset header (ISO-8859-1) that contradicts the page's meta (UTF-8), always",
    "malformed": "unclosed tags, a NUL byte and decoy nesting in the page, always",
    "oversize": "a page above 2 MB (run with a smaller DOWNLOAD_MAXSIZE), always",
    "gzip-bomb": "a gzip body that inflates to 256 MB, always",
    "redirect-loop": "a redirect to itself, always",
    "redirect-offsite": "a redirect to a spam host, always",
    "robots-channel": "robots.txt disallows the channel's list pages",
    "nested-divs": "one more listed page: 5 MB of nested divs",
}


@dataclass(slots=True)
class Story:
    """One story; it may live at two URLs (a G1b and a G2 twin)."""

    index: int
    channel: str
    published: dt.datetime  # Beijing time
    paths: dict[str, str]  # generation -> path, e.g. {"G1b": ..., "G2": ...}
    title: str
    sections: list[tuple[str | None, list[str]]]
    source: str  # as printed; "" when empty
    author: str  # as printed; may hold a non-breaking space
    meta_style: int
    byline: str | None  # as printed: "By QI Liming", "Edited by LIN Yuchen"
    byline_first: bool  # byline above the lead picture and caption
    image: str | None  # path of the lead picture
    caption: str | None
    credit: str | None
    editor: str | None
    layout: str = "standard"  # standard | alt (a redesign) | mirror (spam-mirror damage)
    encoding: str = "utf-8"
    flaky: bool = False  # answers 503 twice, then 200
    robots: bool = False  # disallowed by robots.txt
    added_epoch: int = 0
    removed_epoch: int | None = None
    edits: list[tuple[int, int]] = field(default_factory=list)  # (epoch, section) edited

    @property
    def primary(self) -> str:
        """The generation whose URL is the record's ``url`` (G2 over its G1b twin)."""
        return next(g for g in ("G3", "G2", "G1", "G1b") if g in self.paths)

    @property
    def summary(self) -> str:
        lead = self.sections[0][1][0]
        words = lead.split()
        return lead if len(words) <= 45 else " ".join(words[:45]).rstrip(",;") + "..."

    def alive(self, epoch: int) -> bool:
        return self.added_epoch <= epoch and (self.removed_epoch is None or epoch < self.removed_epoch)

    def sections_at(self, epoch: int) -> list[tuple[str | None, list[str]]]:
        sections = [(h, list(ps)) for h, ps in self.sections]
        for when, section in self.edits:
            if when <= epoch:
                paragraphs = sections[section][1]
                paragraphs[-1] = Prose.edit(paragraphs[-1], when)
        return sections

    def section_label(self) -> str:
        if self.channel == "Cooperation" and self.published.year == 2021:
            return "International Cooperation"
        return self.channel


@dataclass(frozen=True, slots=True)
class Entry:
    """A list-page entry: a story, or one of the hostile links of SITE.md."""

    path: str
    title: str
    summary: str
    published: dt.datetime
    kind: str  # story | missing (404) | broken (500) | special (not an article) | topic | cross | offsite
    story: Story | None = None
    host: str | None = None  # offsite entries: the spam host


class SiteModel:
    """Everything the replica serves at one epoch."""

    def __init__(self, config: ReplicaConfig) -> None:
        self.config = config
        self.rng = random.Random(f"stdcrawl-replica:{config.seed}")
        pool = [n for n in range(400, 500) if n != 410]
        self.rng.shuffle(pool)
        # Innovation China keeps the node seen on the live site; the others are the replica's choice.
        self.nodes = {spec.name: ("410" if spec.name == "Innovation China" else str(pool.pop())) for spec in CHANNEL_SPECS}
        self.stories: list[Story] = []
        self.hostile: list[Entry] = []
        self._ids = _IdCounter(random.Random(f"{config.seed}:ids"))
        self._titles: set[str] = set()
        self._build()
        self._advance()

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        cfg = self.config
        counts = {"Cooperation": cfg.articles, "Innovation China": cfg.other_count, "Comment": cfg.other_count}
        dated: list[tuple[dt.datetime, str, int]] = []
        span = (cfg.today - EPOCH_START).days - YOUNG_DAYS - 1
        for channel, count in counts.items():
            recent = min(RECENT, count) if channel == "Cooperation" else 0
            for i in range(count):
                r = random.Random(f"{cfg.seed}:{channel}:{i}:date")
                if i >= count - recent:  # the newest few: the last two days
                    day = cfg.today - dt.timedelta(days=(count - 1 - i) * YOUNG_DAYS // max(recent - 1, 1))
                else:
                    day = EPOCH_START + dt.timedelta(days=int(span * (i + r.random()) / max(count - recent, 1)))
                dated.append((dt.datetime.combine(day, dt.time(r.randint(7, 21), r.randint(0, 59), r.randint(0, 59))), channel, i))
        dated.sort()
        for published, channel, i in dated:
            self.stories.append(self._story(len(self.stories), channel, i, published))
        self._place_hostile()

    def _story(self, index: int, channel: str, ordinal: int, published: dt.datetime) -> Story:
        cfg, ids, titles = self.config, self._ids, self._titles
        r = random.Random(f"{cfg.seed}:{channel}:{ordinal}")
        prose = Prose(r)
        day = published.date()
        folder = next(s.folder for s in CHANNEL_SPECS if s.name == channel) or "WorldNews"
        paths: dict[str, str] = {}
        if day < G1B_FROM:
            paths["G1"] = f"/English/{folder}/{day:%Y-%m/%d}/content_{ids.next('G1')}.shtml"
        else:
            if day < G2_ONLY_FROM:
                roll = r.random() if day >= TWINS_FROM else 0.0
                if roll < 0.75:
                    digest = hashlib.md5(f"{cfg.seed}:{channel}:{ordinal}".encode()).hexdigest()
                    paths["G1b"] = f"/English/{folder}/{day:%Y%m}/{digest}.shtml"
                if roll >= 0.3:
                    paths["G2"] = f"/web/English/{day:%Y-%m/%d}/content_{ids.next('G2')}.html"
            elif day < G3_FROM:
                paths["G2"] = f"/web/English/{day:%Y-%m/%d}/content_{ids.next('G2')}.html"
            else:
                paths["G3"] = f"/web/English/{day:%Y-%m/%d}/content_{ids.next('G3')}.html"

        title = prose.title(r.randrange(1000))
        while title in titles:  # list entries of twins are paired by title: keep them unique
            prose = Prose(r)
            title = prose.title(r.randrange(1000))
        titles.add(title)

        year = day.year
        lead = prose.lead(year)
        paragraphs = [lead] + [prose.paragraph(year) for _ in range(r.randint(3, 8))]
        sections: list[tuple[str | None, list[str]]]
        if r.random() < 0.3 and len(paragraphs) >= 5:
            cut = r.randint(2, len(paragraphs) - 2)
            headings = [prose.heading(), prose.heading()]
            if headings[0] == headings[1]:
                headings[1] = "What comes next"
            sections = [(None, paragraphs[:1]), (headings[0], paragraphs[1:cut]), (headings[1], paragraphs[cut:])]
        else:
            sections = [(None, paragraphs)]

        author = prose.person()
        source = r.choice(SOURCES)
        meta_style = r.choices(range(5), weights=(55, 20, 8, 8, 9))[0]
        if meta_style == 2:
            source, author = "", ""
        elif meta_style == 3:
            source, author = "", "Science and Technology Daily"
        elif meta_style == 4:
            author = author.replace(" ", "\u00a0")  # printed with a non-breaking space

        roll = r.random()
        byline: str | None = None
        if roll < 0.3 and author and meta_style != 3:
            byline = f"By {author.replace(chr(0xa0), ' ')}"
        elif roll < 0.4:
            byline = "By Staff Reporters"  # differs from the meta line's Author
        elif roll < 0.5:
            second = prose.person()
            author = f"{author.replace(chr(0xa0), ' ') or prose.person()} & {second}"
            meta_style = 0 if meta_style in (2, 3, 4) else meta_style
            source = source or "Science and Technology Daily"
            byline = f"By {author}"
        elif roll < 0.58:
            byline = f"Edited by {prose.person()}"
        elif roll < 0.62:
            byline = "By The Editorial Office"

        pic = r.random()
        image = caption = credit = None
        if pic < 0.7:
            image = f"/web/English/pic/{day:%Y-%m/%d}/{1890000 + index}_{hashlib.md5(f'{index}'.encode()).hexdigest()[:12]}.jpg"
            if pic < 0.6:
                caption, credit = prose.caption(), prose.credit()
        editor = r.choice(CHINESE_NAMES) if r.random() < 0.25 else None
        layout = r.choices(("standard", "alt", "mirror"), weights=(90, 7, 3))[0]
        return Story(
            index=index,
            channel=channel,
            published=published,
            paths=paths,
            title=title,
            sections=sections,
            source=source,
            author=author,
            meta_style=meta_style,
            byline=byline,
            byline_first=r.random() < 0.3,
            image=image,
            caption=caption,
            credit=credit,
            editor=editor,
            layout=layout,
        )

    def _place_hostile(self) -> None:
        """Mark the special stories and make the hostile list entries (Cooperation only)."""
        coop = [s for s in self.stories if s.channel == "Cooperation"]
        late = [s for s in coop if "G3" in s.paths]
        if not late:
            return
        # The one GBK page carries the Chinese meta line seen on the live site.
        gbk = late[len(late) // 3]
        gbk.encoding, gbk.source, gbk.author, gbk.meta_style, gbk.layout = "gbk", "科技日报", "卢子建", 0, "standard"
        gbk.editor = "宗诗涵"
        if gbk.byline and gbk.byline.startswith("By ") and gbk.byline not in ("By Staff Reporters", "By The Editorial Office"):
            gbk.byline = None
        flaky = late[len(late) // 2]
        flaky.flaky = True
        legacy_only = [s for s in coop if "G1b" in s.paths and "G2" not in s.paths]
        if legacy_only:
            legacy_only[len(legacy_only) // 2].robots = True
        mirrored = [s for s in coop if "G1" in s.paths]
        if mirrored:
            seedlike = mirrored[len(mirrored) // 2]
            seedlike.layout, seedlike.meta_style = "mirror", 4
            if " " in seedlike.author:
                seedlike.author = seedlike.author.replace(" ", "\u00a0")

        r = random.Random(f"{self.config.seed}:hostile")
        # Off the first list page: a scheduled run of an unchanged site then fetches only young articles.
        g3_days = [s.published for s in late[: max(len(late) - 20, 1)]]

        def at(kind: str, when: dt.datetime, path: str, title: str, summary: str, **kw: object) -> None:
            self.hostile.append(Entry(path, title, summary, when, kind, **kw))  # type: ignore[arg-type]

        when = r.choice(g3_days)
        at("missing", when, f"/web/English/{when:%Y-%m/%d}/content_{self._ids.next('G3')}.html",
           "Joint Observatory Plan Moves Forward", "The plan was announced at a press conference on Tuesday.")
        when = r.choice([s.published for s in coop if "G2" in s.paths] or g3_days)
        at("broken", when, f"/web/English/{when:%Y-%m/%d}/content_{self._ids.next('G2')}.html",
           "Partners Review Decade of Space Cooperation", "Space agencies looked back on ten years of joint missions.")
        when = r.choice(g3_days)
        at("special", when, f"/web/English/{when:%Y-%m/%d}/content_{self._ids.next('G3')}.html",
           "Special Topic: Global Sci-tech Cooperation", "A collection of reports on international cooperation.")
        at("topic", r.choice(g3_days), "/web/English/zt/2025kjhz/index.html",
           "Special Report: Science Without Borders", "Our special coverage of science diplomacy.")
        others = [s for s in self.stories if s.channel == "Innovation China" and "G3" in s.paths]
        if others:
            cross = others[len(others) // 2]
            at("cross", cross.published, cross.paths["G3"], cross.title, cross.summary, story=cross)
        for n, host in enumerate(SPAM_HOSTS):
            victim = coop[(n + 1) * len(coop) // (len(SPAM_HOSTS) + 1)]
            at("offsite", victim.published, next(iter(victim.paths.values())), victim.title + " (mirror)",
               victim.summary, host=host)

    # -- time -----------------------------------------------------------------------------

    def today_at(self, epoch: int) -> dt.date:
        return self.config.today + dt.timedelta(days=epoch)

    def _advance(self) -> None:
        cfg = self.config
        for epoch in range(1, cfg.epoch + 1):
            r = random.Random(f"{cfg.seed}:epoch:{epoch}")
            young_since = dt.datetime.combine(self.today_at(epoch) - dt.timedelta(days=YOUNG_DAYS), dt.time())
            candidates = [
                s for s in self.stories
                if s.channel == "Cooperation" and s.alive(epoch - 1) and s.published >= young_since
                and not (s.flaky or s.robots or s.encoding != "utf-8")
            ]
            picked = r.sample(candidates, min(cfg.edits_per_epoch + cfg.removals_per_epoch, len(candidates)))
            for story in picked[: cfg.edits_per_epoch]:
                story.edits.append((epoch, len(story.sections) - 1))
            for story in picked[cfg.edits_per_epoch :]:
                story.removed_epoch = epoch
            day = self.today_at(epoch)
            for k in range(cfg.new_per_epoch):
                published = dt.datetime.combine(day, dt.time(8 + (k * 13) // max(cfg.new_per_epoch, 1), 7 * k % 60, 11))
                story = self._story(len(self.stories), "Cooperation", cfg.articles + 1000 * epoch + k, published)
                story.added_epoch = epoch
                story.layout = "standard"
                self.stories.append(story)

    # -- views ----------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        return self.config.epoch

    def live_stories(self, channel: str | None = None) -> list[Story]:
        return [s for s in self.stories if s.alive(self.epoch) and (channel is None or s.channel == channel)]

    @cached_property
    def by_path(self) -> dict[str, tuple[Story, str]]:
        """Every article path ever published, live or removed, with its generation."""
        return {path: (story, gen) for story in self.stories for gen, path in story.paths.items()}

    @cached_property
    def hostile_by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.hostile if e.kind in ("missing", "broken", "special", "topic")}

    def list_entries(self, channel: str, family: str) -> list[Entry]:
        """Entries of one channel's legacy or /web/ list, newest first."""
        gens = ("G1", "G1b") if family == "legacy" else ("G2", "G3")
        entries = [
            Entry(s.paths[g], s.title, s.summary, s.published, "story", story=s)
            for s in self.live_stories(channel)
            for g in gens
            if g in s.paths
        ]
        if channel == "Cooperation":
            entries += [e for e in self.hostile if path_family(e.path) == family]
            if "nested-divs" in self.config.faults and family == "web":
                when = self.live_stories(channel)[len(self.live_stories(channel)) // 2].published
                entries.append(Entry(NESTED_DIVS_PATH, "A Page Nobody Can Read", "Deeply nested.", when, "hostile"))
            # One story is listed twice, pages apart: lists are not clean.
            story = next((e for e in entries if e.kind == "story" and path_family(e.path) == "web"), None)
            if story is not None:
                again = story.published + dt.timedelta(days=365)
                entries.append(Entry(story.path, story.title, story.summary, again, "story", story.story))
        entries.sort(key=lambda e: e.published, reverse=True)
        return entries

    def pages(self, channel: str, family: str) -> list[list[Entry]]:
        entries = self.list_entries(channel, family)
        size = self.config.page_size
        return [entries[i : i + size] for i in range(0, len(entries), size)] or [[]]

    def robots_paths(self) -> list[str]:
        return [s.paths["G1b"] for s in self.stories if s.robots]

    @cached_property
    def faulty(self) -> dict[str, str]:
        """Article path -> the fault it answers with, chosen by the seed among plain G3 stories."""
        candidates = [
            s.paths["G3"] for s in self.live_stories("Cooperation")
            if "G3" in s.paths and s.layout == "standard" and not (s.flaky or s.robots or s.encoding != "utf-8")
        ]
        r = random.Random(f"{self.config.seed}:faults")
        r.shuffle(candidates)
        per_page = [f for f in self.config.faults if f not in ("robots-channel", "nested-divs")]
        return {candidates.pop(): fault for fault in per_page for _ in range(self.config.fault_pages) if candidates}


class _IdCounter:
    """Sitewide content ids: increasing, with gaps (the Chinese site shares them)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.last = {"G1": 1_210_000, "G2": 1_900_100, "G3": 100_500}

    def next(self, generation: str) -> int:
        self.last[generation] += self.rng.randint(1, 40)
        return self.last[generation]


def path_family(path: str) -> str:
    return "web" if path.startswith("/web/") else "legacy"
