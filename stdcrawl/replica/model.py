"""The replica's site model: every story, list entry, picture and fault of the site.

Built from a :class:`ReplicaConfig` alone, deterministically, so the pages the
server renders and the ground truth the tests compare against come from one
source. Each story draws from its own random stream (seed and index), so
adding articles or epochs never changes the stories that were already there.

A story holds its *true* values as data: the clean title and paragraphs, the
authors as a list of names, the byline's name, the caption without its credit.
The printed forms (meta-line spacing, non-breaking spaces, "By X & Y", a
credit in parentheses) are made from them by :mod:`.render`, and the truth
(:mod:`.truth`) reads the data, never a page.

Timeline (docs/site.md): G1 in 2021; G1b from 2022 to mid 2024; G2 from mid 2022 to
August 2024, during which many stories are published at both a G1b and a G2
URL ("twins", served by two CMSs: their own templates, sidebars, navigation
and picture paths); G3 from September 2024. The newest stories are a few days
old, as on a live site. Later epochs move time forward a day each: new stories
on top, and some *young* stories (published in the last two days, the ones a
scheduled crawl re-checks) edited or removed (404).

Settings are the fields of :class:`ReplicaConfig`; a bad value (an unknown
markup, fault or list family, a negative size) raises ``ValueError`` with a
one-line message when the config is made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field
from functools import cached_property

from stdcrawl.replica.faults import CATALOGUE, FAULTS
from stdcrawl.replica.prose import CHINESE_NAMES, SOURCES, Prose

__all__ = [
    "CHANNEL_SPECS", "DEFAULT_TODAY", "FAULTS", "MARKUPS", "RECENT", "ChannelSpec", "Entry", "ReplicaConfig",
    "SiteModel", "Story", "path_family",
]

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
HOMES = {"legacy": "/English/index.shtml", "web": "/web/English/index.html"}
# "standard": the two CMS templates of today; "redesign": every page in a markup no selector
# of stdcrawl knows; "renamed": the standard templates with every class and id renamed.
MARKUPS = ("standard", "redesign", "renamed")
DRIFTS = ("", "markup", "meta")
FAMILIES = ("legacy", "web")


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
    # The site changed its article template: "markup" (a synonym of markup="redesign") or
    # "meta" (the meta line is gone, so no page reads as an article). "" for none.
    drift: str = ""
    crawl_delay: float = 0  # robots.txt asks for this Crawl-delay (0: none)
    retry_after: int = 0  # the article that answers 503 twice says Retry-After: this many seconds (0: no header)
    # Faults to inject (see FAULTS), article faults each on `fault_pages` articles chosen by the seed.
    faults: tuple[str, ...] = ()
    fault_pages: int = 2
    stall_seconds: float = 3.0
    markup: str = "standard"  # see MARKUPS
    fault_list_page: int = 3  # the list page the list-* faults hit (the next ones when several are on)
    fault_list_family: str = "web"  # ... of the Cooperation list of this family: "web" or "legacy"
    header_mb: int = 600  # the huge-headers fault sends about this many MiB of headers
    # A list long enough has at least this many pages: its pages hold fewer than page_size
    # entries (never fewer than 5), so that small sites page too.
    min_list_pages: int = 4

    def __post_init__(self) -> None:
        problems = []
        if self.markup not in MARKUPS:
            problems.append(f"unknown markup {self.markup!r} (one of {', '.join(MARKUPS)})")
        if self.drift not in DRIFTS:
            problems.append(f"unknown drift {self.drift!r} (markup or meta)")
        if self.fault_list_family not in FAMILIES:
            problems.append(f"unknown list family {self.fault_list_family!r} (legacy or web)")
        if unknown := [f for f in self.faults if f not in FAULTS]:
            problems.append(f"unknown fault {', '.join(map(repr, unknown))}")
        if self.articles < 1 or self.page_size < 1 or self.fault_pages < 1 or self.fault_list_page < 1:
            problems.append("articles, page_size, fault_pages and fault_list_page must be positive")
        if self.epoch < 0 or (self.others is not None and self.others < 0) or self.header_mb < 0 or self.min_list_pages < 0:
            problems.append("epoch, others, header_mb and min_list_pages must not be negative")
        if problems:
            raise ValueError("bad replica config: " + "; ".join(problems))

    @property
    def other_count(self) -> int:
        return self.others if self.others is not None else max(10, self.articles // 10)

    @property
    def page_markup(self) -> str:
        """The markup every page is rendered in: ``drift="markup"`` means the redesign."""
        return "redesign" if self.drift == "markup" else self.markup


@dataclass(slots=True)
class Story:
    """One story; it may live at two URLs (a G1b and a G2 twin). Its fields are the true values."""

    index: int
    channel: str
    published: dt.datetime  # Beijing time
    paths: dict[str, str]  # generation -> path, e.g. {"G1b": ..., "G2": ...}
    title: str
    sections: list[tuple[str | None, list[str]]]
    source: str  # the meta line's Source; "" when empty
    authors: list[str]  # the meta line's Author, one name per item (an organisation is one name)
    meta_style: int  # which printed variant of the meta line (render.meta_line)
    byline_name: str | None  # the name part of the byline: "QI Liming", "LI Hongche & LIANG Yilian"
    byline_prefix: str  # "By" or "Edited by"
    byline_first: bool  # byline above the lead picture and caption
    pictures: dict[str, str]  # CMS family ("legacy", "web") -> path of the lead picture on that CMS
    caption: str | None  # the caption without its credit
    credit: str | None  # "PHOTO: XINHUA", printed in parentheses after the caption
    editor: str | None
    author_join: str = "&"  # how the printed Author joins two or more names: "&" or "and"
    layout: str = "standard"  # standard | alt (a redesign) | mirror (spam-mirror damage)
    encoding: str = "utf-8"
    flaky: bool = False  # answers 503 twice, then 200
    robots: bool = False  # disallowed by robots.txt
    moved_from: str | None = None  # an old path, listed, that answers 301 to this story's page
    added_epoch: int = 0
    removed_epoch: int | None = None
    edits: list[tuple[int, int]] = field(default_factory=list)  # (epoch, section) edited

    @property
    def primary(self) -> str:
        """The generation whose URL is the record's ``url`` (G2 over its G1b twin)."""
        return next(g for g in ("G3", "G2", "G1", "G1b") if g in self.paths)

    @property
    def twin(self) -> bool:
        return "G1b" in self.paths and "G2" in self.paths

    @property
    def families(self) -> list[str]:
        """The CMSs serving the story: "legacy", "web" or both."""
        return [f for f in FAMILIES if any(gen_family(g) == f for g in self.paths)]

    @property
    def image(self) -> str | None:
        """The lead picture's path on the primary page's CMS (None: no picture)."""
        return self.pictures.get(gen_family(self.primary))

    @property
    def author(self) -> str:
        """The Author value as the meta line prints it (non-breaking spaces in meta style 4)."""
        names = [n.replace(" ", "\u00a0") for n in self.authors] if self.meta_style == 4 else self.authors
        return join_names(names, self.author_join)

    @property
    def byline(self) -> str | None:
        """The byline as printed: "By QI Liming", "Edited by LIN Yuchen"."""
        return f"{self.byline_prefix} {self.byline_name}" if self.byline_name else None

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


def join_names(names: list[str], join: str = "&") -> str:
    """Names as a byline or meta line prints them: "A & B", "A, B and C"."""
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {join} " + names[-1]


@dataclass(frozen=True, slots=True)
class Entry:
    """A list-page entry: a story, or one of the hostile links of docs/site.md."""

    path: str
    title: str
    summary: str
    published: dt.datetime
    # story | moved (a story under its old URL, 301) | missing (404) | broken (500)
    # | special (not an article) | topic | cross | offsite | hostile (nested divs)
    kind: str
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
        self._served: dict[str, list[Story]] = {}
        self._pages: dict[tuple[str, str], list[list[Entry]]] = {}
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

        person = prose.person()
        authors = [person]
        source = r.choice(SOURCES)
        meta_style = r.choices(range(5), weights=(55, 20, 8, 8, 9))[0]
        if meta_style == 2:
            source, authors = "", []
        elif meta_style == 3:
            source, authors = "", ["Science and Technology Daily"]

        roll = r.random()
        byline_name: str | None = None
        prefix = "By"
        join = "&"
        if roll < 0.3 and authors and meta_style != 3:
            byline_name = person
        elif roll < 0.4:
            byline_name = "Staff Reporters"  # differs from the meta line's Author
        elif roll < 0.5:
            # Two or three names, in the meta line and the byline alike.
            authors = [person or prose.person(), prose.person()]
            if roll >= 0.46:
                authors.append(prose.person())
            join = "and" if r.random() < 0.3 else "&"
            meta_style = 0 if meta_style in (2, 3, 4) else meta_style
            source = source or "Science and Technology Daily"
            byline_name = join_names(authors, join)
        elif roll < 0.58:
            prefix, byline_name = "Edited by", prose.person()
        elif roll < 0.62:
            byline_name = "The Editorial Office"

        pic = r.random()
        pictures: dict[str, str] = {}
        caption = credit = None
        if pic < 0.7:
            pictures = self._pictures(index, paths, day, folder)
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
            authors=authors,
            author_join=join,
            meta_style=meta_style,
            byline_name=byline_name,
            byline_prefix=prefix,
            byline_first=r.random() < 0.3,
            pictures=pictures,
            caption=caption,
            credit=credit,
            editor=editor,
            layout=layout,
        )

    def _pictures(self, index: int, paths: dict[str, str], day: dt.date, folder: str) -> dict[str, str]:
        """The lead picture at each CMS's own path (docs/site.md): beside the legacy page, under /web/.../pic/."""
        r = random.Random(f"{self.config.seed}:picture:{index}")
        out = {}
        if "G1" in paths or "G1b" in paths:
            out["legacy"] = f"/English/{folder}/{day:%Y%m}/W0{day:%Y%m%d}{r.randrange(10**9):09d}.jpg"
        web = paths.get("G3") or paths.get("G2")
        if web:
            content_id = web.rsplit("content_", 1)[1].removesuffix(".html")
            out["web"] = f"/web/English/pic/{day:%Y-%m/%d}/{content_id}_{hashlib.md5(f'{index}:{web}'.encode()).hexdigest()[:12]}.jpg"
        return out

    def _place_hostile(self) -> None:
        """Mark the special stories and make the hostile list entries (Cooperation only)."""
        coop = [s for s in self.stories if s.channel == "Cooperation"]
        late = [s for s in coop if "G3" in s.paths]
        if not late:
            return
        # The one GBK page carries the Chinese meta line seen on the live site.
        gbk = late[len(late) // 3]
        gbk.encoding, gbk.source, gbk.authors, gbk.meta_style, gbk.layout = "gbk", "科技日报", ["卢子建"], 0, "standard"
        gbk.editor = "宗诗涵"
        if gbk.byline_name and gbk.byline_name not in ("Staff Reporters", "The Editorial Office"):
            gbk.byline_name = None
        flaky = late[len(late) // 2]
        flaky.flaky = True
        # One story the site moved: listed under an old URL that answers 301 with the new one.
        moved = next((s for s in late[len(late) // 4 :] if s.layout == "standard" and not (s.flaky or s.encoding != "utf-8")), None)
        if moved is not None:
            moved.moved_from = f"/web/English/{moved.published:%Y-%m/%d}/content_{self._ids.next('G3')}.html"
        legacy_only = [s for s in coop if "G1b" in s.paths and "G2" not in s.paths]
        if legacy_only:
            legacy_only[len(legacy_only) // 2].robots = True
        mirrored = [s for s in coop if "G1" in s.paths]
        if mirrored:
            seedlike = mirrored[len(mirrored) // 2]
            seedlike.layout, seedlike.meta_style = "mirror", 4
            if len(seedlike.authors) > 1:  # the seed article has one author, spaces damaged
                if seedlike.byline_name == join_names(seedlike.authors, seedlike.author_join):
                    seedlike.byline_name = seedlike.authors[0]
                seedlike.authors = seedlike.authors[:1]

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
                and not (s.flaky or s.robots or s.moved_from or s.encoding != "utf-8")
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

    def served_by(self, family: str) -> list[Story]:
        """The live stories one CMS serves, in model order; the caller must not change the list.

        Made once per family: the model does not change once built, and every
        page's sidebar draws from it (walking 20,000 stories for each page made
        a large replica slower than the crawls it serves).
        """
        if (stories := self._served.get(family)) is None:
            stories = self._served[family] = [s for s in self.live_stories() if family in s.families]
        return stories

    @cached_property
    def by_path(self) -> dict[str, tuple[Story, str]]:
        """Every article path ever published, live or removed, with its generation."""
        return {path: (story, gen) for story in self.stories for gen, path in story.paths.items()}

    @cached_property
    def moved(self) -> dict[str, Story]:
        """Old path -> the story it answers 301 for."""
        return {s.moved_from: s for s in self.stories if s.moved_from}

    @cached_property
    def pictures(self) -> dict[str, Story]:
        """Every picture path (both CMSs) -> its story."""
        return {path: s for s in self.stories for path in s.pictures.values()}

    @cached_property
    def hostile_by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.hostile if e.kind in ("missing", "broken", "special", "topic")}

    def list_path(self, name: str, family: str, page: int = 1) -> str:
        """Page ``page`` of a channel's legacy (common_list) or /web/ (node) list."""
        spec = next(s for s in CHANNEL_SPECS if s.name == name)
        if family == "legacy" and spec.folder:
            return f"/English/{spec.folder}/common_list.shtml" if page == 1 else f"/English/{spec.folder}/common_list_{page}.shtml"
        node = self.nodes[name]
        return f"/web/English/node_{node}.html" if page == 1 else f"/web/English/node_{node}_{page}.html"

    def list_entries(self, channel: str, family: str) -> list[Entry]:
        """Entries of one channel's legacy or /web/ list, newest first."""
        gens = ("G1", "G1b") if family == "legacy" else ("G2", "G3")
        entries = [
            Entry(s.moved_from, s.title, s.summary, s.published, "moved", story=s)
            if g == "G3" and s.moved_from
            else Entry(s.paths[g], s.title, s.summary, s.published, "story", story=s)
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
        """The list's pages: page_size entries each, fewer when the list would have under min_list_pages.

        Made once per list, as :meth:`served_by` is, and for the same reason (each list page
        request asks for them); the caller must not change them.
        """
        if (pages := self._pages.get((channel, family))) is not None:
            return pages
        entries = self.list_entries(channel, family)
        size = self.config.page_size
        if self.config.min_list_pages:
            size = min(size, max(5, -(-len(entries) // self.config.min_list_pages)))
        pages = self._pages[channel, family] = [entries[i : i + size] for i in range(0, len(entries), size)] or [[]]
        return pages

    def robots_paths(self) -> list[str]:
        return [s.paths["G1b"] for s in self.stories if s.robots]

    # -- faults ---------------------------------------------------------------------------

    @cached_property
    def _fault_plan(self) -> tuple[dict[str, str], dict[str, str]]:
        """(article path -> fault, faulty path -> where it sends the crawler)."""
        cfg = self.config
        article_faults = [f for f in dict.fromkeys(cfg.faults) if CATALOGUE[f].target == "article"]
        candidates = [
            s for s in self.live_stories("Cooperation")
            if ("G3" in s.paths or ("G2" in s.paths and not s.twin)) and s.layout == "standard"
            and not (s.flaky or s.robots or s.moved_from or s.encoding != "utf-8")
        ]
        r = random.Random(f"{cfg.seed}:faults")
        r.shuffle(candidates)
        # Redirect targets: healthy entries of the /web/ list, in its order (newest first).
        web = [e for e in self.list_entries("Cooperation", "web") if e.kind == "story" and e.story is not None]
        order = {e.path: n for n, e in reversed(list(enumerate(web)))}
        plain = {id(s) for s in candidates}
        faulty: dict[str, str] = {}
        targets: dict[str, str] = {}
        reserved: set[int] = set()  # stories kept healthy: something redirects to them
        for _ in range(cfg.fault_pages):
            # Faults with a narrower choice pick first.
            for fault in sorted(article_faults, key=lambda f: not CATALOGUE[f].chinese):
                spec = CATALOGUE[fault]
                for pick in reversed(candidates):
                    if spec.chinese and pick.editor is None:
                        continue
                    target = None
                    if spec.redirects:
                        # The nearest newer article a crawler walking the list has met, kept healthy.
                        at = order[_web_path(pick)]
                        target = next((
                            e for e in reversed(web[:at])
                            if e.path not in faulty and (id(e.story) in plain or id(e.story) in reserved)
                        ), None)
                        if target is None:
                            continue
                    candidates.remove(pick)
                    faulty[_web_path(pick)] = fault
                    if target is not None:
                        assert target.story is not None
                        targets[_web_path(pick)] = target.path
                        reserved.add(id(target.story))
                        if target.story in candidates:
                            candidates.remove(target.story)
                    break
        twin_faults = [f for f in dict.fromkeys(cfg.faults) if CATALOGUE[f].target == "twin"]
        if twin_faults:
            twins = sorted((s for s in self.live_stories() if s.twin), key=lambda s: s.index)
            for n, story in enumerate(twins):
                faulty[story.paths["G1b"]] = fault = twin_faults[n % len(twin_faults)]
                if fault == "twin-redirect":
                    targets[story.paths["G1b"]] = story.paths["G2"]
        for old, story in self.moved.items():
            targets[old] = story.paths[story.primary]
        return faulty, targets

    @property
    def faulty(self) -> dict[str, str]:
        """Article path -> the fault it answers with: the article faults and the twin faults.

        Article faults each take ``fault_pages`` plain Cooperation articles with a /web/
        page of their own (G3, or G2 without a twin), chosen by the seed, one page per
        fault in turn so that every fault gets one before any gets two; the charset faults
        take articles that carry Chinese text (an Editor line in Chinese script). Twin
        faults hit the G1b page of every live twin (alternately, when both are on).
        """
        return self._fault_plan[0]

    @property
    def fault_targets(self) -> dict[str, str]:
        """Path -> the path it sends a crawler to: redirect-seen, meta-refresh, twin-redirect, the moved story.

        redirect-seen and meta-refresh send to the nearest newer article of the same /web/
        list (one a crawler walking it newest first has met), which no fault touches.
        """
        return self._fault_plan[1]

    @cached_property
    def fault_paths(self) -> dict[str, str]:
        """Every path a fault hits -> the fault: articles and twins (as :attr:`faulty`), list pages, /robots.txt.

        A list-* fault hits page ``fault_list_page`` of the Cooperation list of
        ``fault_list_family``; with several on, each takes the next page in turn (past the
        last, page 2 on; then the other family's list), in the order given. list-repeat-last
        hits the first page past the end of that list, and every page after it.
        """
        cfg = self.config
        out = dict(self.faulty)
        first = cfg.fault_list_family
        slots = []
        for family in (first, "legacy" if first == "web" else "web"):
            count = len(self.pages("Cooperation", family))
            pages = list(range(cfg.fault_list_page, count + 1)) + list(range(2, min(cfg.fault_list_page, count + 1)))
            slots += [self.list_path("Cooperation", family, p) for p in pages]
        for fault in dict.fromkeys(cfg.faults):
            if fault == "list-repeat-last":
                out[self.list_path("Cooperation", first, len(self.pages("Cooperation", first)) + 1)] = fault
            elif CATALOGUE[fault].target == "list" and slots:
                out[slots.pop(0)] = fault
        # One robots.txt: the bomb wins over the oversize file, both carry the channel's rules.
        robots = [f for f in ("robots-bomb", "robots-oversize", "robots-channel") if f in cfg.faults]
        if robots:
            out["/robots.txt"] = robots[0]
        if "nested-divs" in cfg.faults:
            out[NESTED_DIVS_PATH] = "nested-divs"
        return out

    def list_fault(self, family: str, channel: str, page: int) -> str | None:
        """The list-* fault that page ``page`` of a channel's list answers with, if any."""
        if channel != "Cooperation":
            return None
        fault = self.fault_paths.get(self.list_path(channel, family, page))
        if fault is None and "list-repeat-last" in self.config.faults and family == self.config.fault_list_family \
                and page > len(self.pages(channel, family)):
            return "list-repeat-last"
        return fault if fault is None or CATALOGUE[fault].target == "list" else None


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


def gen_family(generation: str) -> str:
    return "legacy" if generation in ("G1", "G1b") else "web"


def _web_path(story: Story) -> str:
    return story.paths.get("G3") or story.paths["G2"]
