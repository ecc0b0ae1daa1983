"""HTML of the replica's pages, rendered from the site model.

The live markup is unknown (SITE.md), so the replica renders the visible text
the site is known to print in three markups: the legacy ``.shtml`` template,
the ``/web/`` template, and an ``alt`` redesign whose markup no selector of
stdcrawl knows (it puts the sidebar first, splits the meta line, prints
sub-headings as plain lines). ``mirror`` pages get what spam mirrors do to a
copy: a junk keyword line, empty decoy tags, list wrappers, ``?`` for every
non-breaking space, links to the mirror's own host.
"""

from __future__ import annotations

import random
import re
from html import escape

from stdcrawl.replica.model import CHANNEL_SPECS, SPAM_HOSTS, Entry, SiteModel, Story

_HOST_FORMS = ("", "", "", "https://www.stdaily.com", "http://stdaily.com", "https://m.stdaily.com", "http://www.stdaily.com")
FOOTER_TEXT = "Copyright &copy; Science and Technology Daily, All Rights Reserved"
_SPAM_LINE = "澳门新葡京 六合彩开奖 网上赌场 体育投注 时时彩 真人百家乐 老虎机 棋牌游戏 彩票平台"


def t(text: str) -> str:
    """Escape text for HTML, keeping non-breaking spaces visible as ``&nbsp;``."""
    return escape(text, quote=False).replace("\u00a0", "&nbsp;")


def link(path: str, salt: str) -> str:
    """The same path written the many ways the site writes links."""
    r = random.Random(f"{path}:{salt}")
    href = r.choice(_HOST_FORMS) + path
    roll = r.random()
    if roll < 0.1:
        href += "?spm=list"
    elif roll < 0.15:
        href += "#comments"
    return href


def channel_list_path(model: SiteModel, name: str, family: str, page: int = 1) -> str:
    spec = next(s for s in CHANNEL_SPECS if s.name == name)
    if family == "legacy" and spec.folder:
        return f"/English/{spec.folder}/common_list.shtml" if page == 1 else f"/English/{spec.folder}/common_list_{page}.shtml"
    node = model.nodes[name]
    return f"/web/English/node_{node}.html" if page == 1 else f"/web/English/node_{node}_{page}.html"


def _head(title: str, charset: str = "utf-8") -> str:
    return (
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" "
        "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
        f"<html xmlns=\"http://www.w3.org/1999/xhtml\"><head>\n"
        f"<meta http-equiv=\"Content-Type\" content=\"text/html; charset={charset}\" />\n"
        f"<title>{t(title)} - 中国科技网</title>\n"
        "<meta name=\"keywords\" content=\"science, technology, China, cooperation\" />\n"
        "<link rel=\"stylesheet\" href=\"/English/css/style.css\" />\n"
        "<script type=\"text/javascript\">var _hmt = _hmt || []; document.write('');</script>\n"
        "</head>\n"
    )


def _nav(model: SiteModel, family: str, salt: str) -> str:
    home = "/English/index.shtml" if family == "legacy" else "/web/English/index.html"
    items = [f'<li><a href="{link(home, salt)}">Home</a></li>']
    for spec in CHANNEL_SPECS:
        fam = family if spec.folder else "web"
        items.append(f'<li><a href="{link(channel_list_path(model, spec.name, fam), salt + spec.name)}">{t(spec.name)}</a></li>')
    return (
        '<div class="top"><div class="logo"><a href="/English/index.shtml">'
        '<img src="/English/images/logo.png" width="320" height="60" alt="Science and Technology Daily" /></a></div>\n'
        f'<ul class="nav">{"".join(items)}</ul>\n'
        '<div class="search"><form action="http://search.stdaily.com/search" method="get">'
        '<input type="text" name="q" value="" /><button type="submit">Search</button></form></div>\n'
        '<div class="lang"><a href="http://www.stdaily.com/">中文</a></div></div>\n'
    )


def sidebar(model: SiteModel, request_no: int) -> list[Story]:
    """The "Top News" stories: a new pick on every request, as on the live site."""
    stories = model.live_stories()
    r = random.Random(f"{model.config.seed}:sidebar:{request_no}")
    return r.sample(stories, min(5, len(stories)))


def _sidebar_html(stories: list[Story], request_no: int) -> str:
    items = []
    for n, story in enumerate(stories):
        path = story.paths[story.primary]
        href = link(path, f"side{request_no}")
        if n == 4:
            href = f"http://{SPAM_HOSTS[request_no % len(SPAM_HOSTS)]}{path}"
        items.append(f'<li><a href="{href}" target="_blank">{t(story.title)}</a><p>{t(story.summary)}</p></li>')
    return f'<div class="right"><div class="hd">Top News</div><ul>{"".join(items)}</ul></div>\n'


def _footer() -> str:
    return (
        f'<div class="footer"><p>{FOOTER_TEXT}</p>'
        '<p><a href="mailto:yuhy@stdaily.com">mailto: yuhy@stdaily.com</a></p>'
        f'<p>Partners: <a href="http://{SPAM_HOSTS[0]}/">{SPAM_HOSTS[0]}</a></p></div>\n'
        "</body></html>\n"
    )


def meta_line(story: Story, published: str) -> str:
    src, author = story.source, story.author
    return {
        0: f"Source: {src} | {published} | Author: {author}",
        1: f"Source:{src} | {published} | Author:{author}",
        2: f"Source: | {published} | Author:",
        3: f"Source: | {published}| Author: {author}",
        4: f"Source: {src}| {published}| Author: {author}",
    }[story.meta_style]


def _figure(story: Story, family: str) -> list[str]:
    out = []
    if story.image:
        out.append(f'<p style="text-align: center"><img src="{story.image}" border="0" alt="" /></p>')
    if story.caption:
        credit = t(story.credit or "").replace(": ", ":&nbsp;")
        cls = ' class="pic-text"' if family == "web" else ' style="text-align: center"'
        out.append(f"<p{cls}>{t(story.caption)} ({credit})</p>")
    return out


def _content(story: Story, epoch: int, family: str, alt: bool = False) -> str:
    tag = "div" if alt else "p"
    parts: list[str] = []
    byline = f"<{tag}>{t(story.byline)}</{tag}>" if story.byline else ""
    figure = _figure(story, family)
    if alt:
        figure = [f.replace("<p", "<div").replace("</p>", "</div>") for f in figure]
    parts += [byline, *figure] if story.byline_first else [*figure, byline]
    for n, (heading, paragraphs) in enumerate(story.sections_at(epoch)):
        if heading:
            if alt:
                parts.append(f"<div>{t(heading)}</div>")
            elif family == "web" and n % 2:
                parts.append(f"<h3>{t(heading)}</h3>")
            else:
                parts.append(f"<p><strong>{t(heading)}</strong></p>")
        indent = "\u3000\u3000" if family == "legacy" and story.index % 3 == 0 else ""
        parts += [f"<{tag}>{indent}{t(p)}</{tag}>" for p in paragraphs]
    return "\n".join(p for p in parts if p)


def article_page(model: SiteModel, story: Story, generation: str, request_no: int) -> str:
    family = "legacy" if generation in ("G1", "G1b") else "web"
    published = f"{story.published:%Y-%m-%d %H:%M:%S}"
    label = story.section_label()
    crumb_list = channel_list_path(model, story.channel, family)
    side = _sidebar_html(sidebar(model, request_no), request_no)
    charset = "gbk" if story.encoding == "gbk" else "utf-8"
    editor = f"Editor: {t(story.editor)}" if story.editor else ""
    drift = model.config.drift
    meta = "" if drift == "meta" else t(meta_line(story, published))
    if story.layout == "alt" or drift:
        return _alt_article(model, story, family, published, side, charset, meta=drift != "meta")
    if family == "legacy":
        page = (
            _head(story.title, charset)
            + "<body>\n"
            + _nav(model, family, story.title)
            + '<div class="main"><div class="left">\n'
            + f'<div class="position">position: <a href="/English/index.shtml">EnglishChannel</a> &gt; '
            f'<a href="{link(crumb_list, "crumb")}">{t(label)}</a> &gt; Article</div>\n'
            + '<div class="article">\n'
            + f"<h1>{t(story.title)}</h1>\n"
            + f'<div class="info">{meta}</div>\n'
            + '<div class="share">Share: <a href="http://service.weibo.com/share/share.php">Weibo</a> '
            '<a href="#">WeChat</a> <img src="/English/images/ewm.png" width="80" height="80" alt="" /></div>\n'
            + f'<div id="Zoom">\n{_content(story, model.epoch, family)}\n</div>\n'
            + (f'<div class="editor">{editor}</div>\n' if editor else "")
            + "</div></div>\n"
            + side
            + "</div>\n"
            + _footer()
        )
    else:
        page = (
            _head(story.title, charset)
            + '<body class="web">\n'
            + _nav(model, family, story.title)
            + '<div class="container">\n'
            + f'<div class="crumbs">position: <a href="/web/English/index.html">EnglishChannel</a>&nbsp;&nbsp;&gt; '
            f'<a href="{link(crumb_list, "crumb")}">{t(label)}</a>&gt; {t(story.title)}</div>\n'
            + '<div class="detail">\n'
            + f'<h2 class="detail-title">{t(story.title)}</h2>\n'
            + f'<div class="detail-info">{_spans(meta)}</div>\n'
            + f'<div class="detail-content">\n{_content(story, model.epoch, family)}\n</div>\n'
            + (f'<p class="detail-editor">{editor}</p>\n' if editor else "")
            + "</div>\n"
            + side
            + "</div>\n"
            + _footer()
        )
    return mirror(page, request_no) if story.layout == "mirror" else page


def _spans(meta: str) -> str:
    return " | ".join(f"<span>{part.strip()}</span>" for part in meta.split("|"))


def _alt_article(
    model: SiteModel, story: Story, family: str, published: str, side: str, charset: str, meta: bool = True
) -> str:
    """A redesign no selector knows: table layout, sidebar first, meta over three lines (or none at all)."""
    tail = "Article" if family == "legacy" else t(story.title)
    list_path = channel_list_path(model, story.channel, family)
    return (
        _head(story.title, charset)
        + "<body><table width=\"1000\" class=\"wrap\"><tr>\n"
        + f'<td class="aside" width="300" valign="top">{side}</td>\n'
        + '<td class="main" valign="top">\n'
        + '<ul class="bread"><li>position:</li><li><a href="/English/index.shtml">EnglishChannel</a></li><li>&gt;</li>'
        f'<li><a href="{link(list_path, "alt")}">{t(story.section_label())}</a></li><li>&gt;</li><li>{tail}</li></ul>\n'
        + f'<div class="t">{t(story.title)}</div>\n'
        + (
            f'<div class="src">Source: {t(story.source)}</div><div class="time">{published}</div>'
            f'<div class="au">Author: {t(story.author)}</div>\n'
            if meta
            else f'<div class="time">{published[:10]}</div>\n'
        )
        + f'<div class="txt">\n{_content(story, model.epoch, family, alt=True)}\n</div>\n'
        + (f"<div>Editor: {t(story.editor)}</div>\n" if story.editor else "")
        + "</td></tr></table>\n"
        + f'<div class="foot">{FOOTER_TEXT}</div></body></html>\n'
    )


_DECOY = (
    '<acronym id="{r}"></acronym><pre id="{r}"></pre><track id="{r}"><ruby id="{r}"><menu id="{r}"></menu></ruby></track>'
    '<label id="{r}"><menu id="{r}"></menu></label><tr id="{r}"></tr>'
)


def mirror(page: str, salt: int) -> str:
    """What a spam mirror does to a copied page."""
    r = random.Random(f"mirror:{salt}")
    decoy = _DECOY.format(r="".join(r.choice("abcdefghijk0123456789") for _ in range(5)))
    host = SPAM_HOSTS[salt % len(SPAM_HOSTS)]
    page = re.sub(r'href="(?:https?://(?:www\.|m\.)?stdaily\.com)?/(?!/)', f'href="http://{host}/', page)
    page = re.sub(r"<title>.*?</title>", f"<title>{_SPAM_LINE}</title>", page, count=1, flags=re.S)
    page = page.replace("<body", f'<body><ul><li>{decoy}</li><li><p>{_SPAM_LINE}</p><ol><li>{decoy}</li><li><div', 1)
    page = page.replace("</body>", f"</div></li><li>{decoy}</li></ol></li></ul></body>")
    return page.replace("&nbsp;", "?").replace("\u00a0", "?").replace("&copy;", "?").replace("©", "?")


def list_page(model: SiteModel, channel: str, family: str, page_no: int, request_no: int) -> str | None:
    pages = model.pages(channel, family)
    if not 1 <= page_no <= len(pages):
        return None
    label = channel
    items = []
    for n, entry in enumerate(pages[page_no - 1]):
        href = _entry_href(entry, family, f"list{n}{page_no}")
        if family == "legacy":
            items.append(f'<li><h3><a href="{href}" target="_blank">{t(entry.title)}</a></h3><p>{t(entry.summary)}</p></li>')
        else:
            items.append(
                f'<div class="item"><a class="title" href="{href}">{t(entry.title)}</a>'
                f'<div class="summary">{t(entry.summary)}</div></div>'
            )
    paging = []
    for p in range(1, len(pages) + 1):
        target = channel_list_path(model, channel, family, p).rsplit("/", 1)[1]
        paging.append(f"<span>{p}</span>" if p == page_no else f'<a href="{target}">{p}</a>')
    if family == "legacy":
        crumb = (
            f'<div class="position">position: <a href="/English/index.shtml">EnglishChannel</a> &gt; '
            f"<span>{t(label)}</span></div>"
        )
        body = f'<div class="list"><ul>{"".join(items)}</ul></div>'
        pager = (
            f'<div class="page"><script>createPageHTML({len(pages)}, {page_no - 1}, "common_list", "shtml");</script>'
            f'{" ".join(paging)}</div>'
        )
    else:
        crumb = f'<div class="crumbs"><a href="/web/English/index.html">EnglishChannel</a>&nbsp;&nbsp;&gt; {t(label)}</div>'
        body = f'<div class="news-list">{"".join(items)}</div>'
        pager = f'<div class="pages">{" ".join(paging)}</div>'
    return (
        _head(label)
        + "<body>\n"
        + _nav(model, family, f"{channel}{page_no}")
        + '<div class="main"><div class="left">\n'
        + f"{crumb}\n{body}\n{pager}\n"
        + "</div>\n"
        + _sidebar_html(sidebar(model, request_no), request_no)
        + "</div>\n"
        + _footer()
    )


def _entry_href(entry: Entry, family: str, salt: str) -> str:
    if entry.kind == "offsite":
        return f"http://{entry.host}{entry.path}"
    href = link(entry.path, salt)
    if family == "web" and href.startswith("/web/English/") and random.Random(salt + entry.path).random() < 0.2:
        return href.removeprefix("/web/English/")  # relative to the list page
    return href


def home_page(model: SiteModel, family: str, request_no: int) -> str:
    latest = sorted(model.live_stories(), key=lambda s: s.published, reverse=True)[:10]
    items = []
    for story in latest:
        gens = [g for g in (("G1b", "G1") if family == "legacy" else ("G3", "G2")) if g in story.paths]
        path = story.paths[gens[0] if gens else story.primary]
        items.append(f'<li><a href="{link(path, "home")}">{t(story.title)}</a></li>')
    return (
        _head("English")
        + "<body>\n"
        + _nav(model, family, f"home-{family}")
        + f'<div class="main"><div class="focus"><ul>{"".join(items)}</ul></div>\n'
        + _sidebar_html(sidebar(model, request_no), request_no)
        + "</div>\n"
        + _footer()
    )


def special_page(model: SiteModel, entry: Entry, request_no: int) -> str:
    """A special-topic page: a banner and links, no meta line, no body."""
    stories = sidebar(model, request_no + 7)
    links = "".join(f'<li><a href="{link(s.paths[s.primary], "zt")}">{t(s.title)}</a></li>' for s in stories)
    return (
        _head(entry.title)
        + "<body>\n"
        + _nav(model, "web", "zt")
        + f'<div class="zt"><div class="banner"><h1>{t(entry.title)}</h1></div>'
        f"<p>{t(entry.summary)}</p><ul>{links}</ul></div>\n"
        + _footer()
    )


def not_found_page() -> str:
    return _head("404") + "<body><h1>404 Not Found</h1><p>The page you requested does not exist.</p></body></html>\n"


def nested_divs_page() -> str:
    """5 MB of nested divs around a sentence: a page no extractor should choke on."""
    depth = 5 * 1024 * 1024 // 11
    return "<html><body>" + "<div>" * depth + "Deep inside." + "</div>" * depth + "</body></html>"


def robots_txt(model: SiteModel) -> str:
    lines = ["User-agent: *", "Disallow: /web/English/search/", "Disallow: /English/search/"]
    if "robots-channel" in model.config.faults:
        lines += ["Disallow: /English/WorldNews/common_list", f"Disallow: /web/English/node_{model.nodes['Cooperation']}"]
    if model.config.crawl_delay:
        lines.append(f"Crawl-delay: {model.config.crawl_delay:g}")
    lines += [f"Disallow: {path}" for path in model.robots_paths()]
    return "\n".join(lines) + "\n"
