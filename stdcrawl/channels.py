"""The English edition's channels, as far as docs/site.md knows them.

The name is what breadcrumbs and navigation print today; ``aliases`` are names
printed earlier ("International Cooperation" in 2021). ``legacy_folder`` and
``web_node`` are fallbacks only: the spider discovers list pages from the
homepages' navigation by name first.
"""

from __future__ import annotations

from dataclasses import dataclass

from stdcrawl.text import fold_key


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    slug: str
    aliases: tuple[str, ...] = ()
    legacy_folder: str | None = None
    web_node: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


CHANNELS: tuple[Channel, ...] = (
    Channel("Cooperation", "cooperation", ("International Cooperation",), "WorldNews", None),
    Channel("Innovation China", "innovation-china", (), "ChinaNews", "410"),
    Channel("Comment", "comment", (), "BusinessNews", None),
    Channel("Experts in China", "experts-in-china", (), "Service", None),
    Channel("News", "news", (), "News", None),
    Channel("Insight", "insight", (), None, None),
)


def find_channel(name: str) -> Channel | None:
    """Look a channel up by a printed name or alias, or by slug (any case and spacing)."""
    key = fold_key(name)
    for channel in CHANNELS:
        if key in {fold_key(c) for c in (*channel.labels, channel.slug)}:
            return channel
    return None


def is_labelled(channel: Channel, label: str) -> bool:
    """Whether a printed label (breadcrumb, navigation) names this channel."""
    return fold_key(label) in {fold_key(name) for name in channel.labels}
