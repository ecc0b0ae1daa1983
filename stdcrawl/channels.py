"""The English edition's channels, as far as SITE.md knows them.

The name is what breadcrumbs and navigation print today; ``aliases`` are names
printed earlier ("International Cooperation" in 2021). ``legacy_folder`` and
``web_node`` are fallbacks only: the spider discovers list pages from the
homepages' navigation by name first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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


def label_key(label: str) -> str:
    """Compare labels ignoring case, spacing and punctuation."""
    return re.sub(r"[\W_]+", "", label).casefold()


def find_channel(name: str) -> Channel | None:
    """Look a channel up by a printed name or alias, or by slug (any case and spacing)."""
    key = label_key(name)
    for channel in CHANNELS:
        if key in {label_key(c) for c in (*channel.labels, channel.slug)}:
            return channel
    return None

