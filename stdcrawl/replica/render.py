"""HTML of the replica's pages, rendered from the site model.

The live markup is unknown (docs/site.md): only the visible text is. The replica
prints that text from the model's true values (the printed forms are made
here: meta-line spacing, non-breaking spaces, "By X & Y", a credit in
parentheses) in the markups of two CMSs: the legacy ``.shtml`` CMS (G1, G1b)
and the ``/web/`` CMS (G2, G3), each with its own head, navigation, "Top News"
style sidebar (its own heading and its own picks), footer and picture paths,
so the two pages of a 2022-2024 twin differ as two systems' pages would.

Markups (``ReplicaConfig.page_markup``):

- ``standard``: the two CMS templates; a few stories in an ``alt`` redesign
  (table layout, sidebar first, meta over three lines), a few with spam-mirror
  damage (junk keyword line, decoy tags, ``?`` for non-breaking spaces, links
  to the mirror's host).
- ``redesign``: every page (articles, lists, homepages, special pages) in an
  HTML5 markup none of stdcrawl's selectors knows, the visible text unchanged.
- ``renamed``: the standard pages with every class and id renamed.

``drift="meta"`` renders every article as the ``alt`` redesign without its
meta line (a site changed for the worse). Pure: text in, text out.
"""

from __future__ import annotations

import hashlib
import random
import re
from html import escape

from stdcrawl.replica.model import CHANNEL_SPECS, HOMES, SPAM_HOSTS, Entry, SiteModel, Story, gen_family

_HOST_FORMS = ("", "", "", "https://www.stdaily.com", "http://stdaily.com", "https://m.stdaily.com", "http://www.stdaily.com")
FOOTER_TEXT = "Copyright &copy; Science and Technology Daily, All Rights Reserved"
_SPAM_LINE = "澳门新葡京 六合彩开奖 网上赌场 体育投注 时时彩 真人百家乐 老虎机 棋牌游戏 彩票平台"
# Each CMS titles its sidebar of other stories its own way (the legacy one as seen on the site).
SIDEBAR_HEADINGS = {"legacy": "Top News", "web": "Highlights"}
_UNIT = re.compile(r"(\d) (?=square\b)")  # printed as "20&nbsp;square kilometers"


def t(text: str) -> str:
    """Escape text for HTML, keeping non-breaking spaces visible as ``&nbsp;``."""
    return escape(text, quote=False).replace("\u00a0", "&nbsp;")


def printed(text: str) -> str:
    """The printed form of clean body text: a non-breaking space between a number and its unit."""
    return _UNIT.sub("\\1\u00a0", text)


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
    return model.list_path(name, family, page)


def family_path(story: Story, family: str) -> str:
    """The story's page on one CMS (the other CMS's when it has none there)."""
    gens = ("G1b", "G1") if family == "legacy" else ("G3", "G2")
    return next((story.paths[g] for g in gens if g in story.paths), story.paths[story.primary])


def _finish(model: SiteModel, page: str) -> str:
    return renamed(page) if model.config.page_markup == "renamed" else page


_ATTR = re.compile(r'(?<=[\s"])(class|id)="([^"]*)"')


def renamed(page: str) -> str:
    """The page with every class and id token renamed, nothing else changed."""
    def rename(m: re.Match[str]) -> str:
        tokens = " ".join("k" + hashlib.md5(tok.encode()).hexdigest()[:7] for tok in m[2].split())
        return f'{m[1]}="{tokens}"'

    return _ATTR.sub(rename, page)


# -- the two CMSs' furniture ----------------------------------------------------------------


def _head(title: str, charset: str = "utf-8", family: str = "legacy") -> str:
    if family == "web":
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head>\n"
            f"<meta charset=\"{charset}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{t(title)} - 中国科技网</title>\n"
            "<link rel=\"stylesheet\" href=\"/web/English/css/main.css\">\n"
            "<script src=\"/web/English/js/jquery.min.js\"></script>\n"
            "</head>\n"
        )
    return (
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" "
        "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
        "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head>\n"
        f"<meta http-equiv=\"Content-Type\" content=\"text/html; charset={charset}\" />\n"
        f"<title>{t(title)} - 中国科技网</title>\n"
        "<meta name=\"keywords\" content=\"science, technology, China, cooperation\" />\n"
        "<link rel=\"stylesheet\" href=\"/English/css/style.css\" />\n"
        "<script type=\"text/javascript\">var _hmt = _hmt || []; document.write('');</script>\n"
        "</head>\n"
    )


def _nav_links(model: SiteModel, family: str, salt: str) -> list[tuple[str, str]]:
    """(label, href) of the navigation: Home, then every channel's list on this CMS."""
    items = [("Home", link(HOMES[family], salt))]
    for spec in CHANNEL_SPECS:
        fam = family if spec.folder else "web"  # a channel without a legacy list links its /web/ one
        items.append((spec.name, link(channel_list_path(model, spec.name, fam), salt + spec.name)))
    return items


def _nav(model: SiteModel, family: str, salt: str) -> str:
    items = _nav_links(model, family, salt)
    if family == "web":
        menu = '<span class="sep">|</span>'.join(f'<a href="{href}">{t(label)}</a>' for label, href in items)
        return (
            '<header class="site-header"><div class="brand"><a href="/web/English/index.html">'
            '<img src="/web/English/images/logo_en.png" alt="Science and Technology Daily"></a></div>\n'
            f'<nav class="menu">{menu}</nav>\n'
            '<form class="so" action="http://search.stdaily.com/search" method="get">'
            '<input type="text" name="q"><input type="submit" value="Search"></form>\n'
            '<a class="cn" href="http://www.stdaily.com/">中文</a></header>\n'
        )
    lis = "".join(f'<li><a href="{href}">{t(label)}</a></li>' for label, href in items)
    return (
        '<div class="top"><div class="logo"><a href="/English/index.shtml">'
        '<img src="/English/images/logo.png" width="320" height="60" alt="Science and Technology Daily" /></a></div>\n'
        f'<ul class="nav">{lis}</ul>\n'
        '<div class="search"><form action="http://search.stdaily.com/search" method="get">'
        '<input type="text" name="q" value="" /><button type="submit">Search</button></form></div>\n'
        '<div class="lang"><a href="http://www.stdaily.com/">中文</a></div></div>\n'
    )


def sidebar(model: SiteModel, request_no: int, family: str = "legacy") -> list[Story]:
    """The sidebar's stories on one CMS: its own pages, a new pick on every request."""
    stories = model.served_by(family)
    r = random.Random(f"{model.config.seed}:sidebar:{family}:{request_no}")
    return r.sample(stories, min(5 if family == "legacy" else 6, len(stories)))


def _sidebar_items(model: SiteModel, family: str, request_no: int) -> list[tuple[str, Story]]:
    """(href, story) of the sidebar; one link goes to a spam host, as copies of the site do."""
    out = []
    for n, story in enumerate(sidebar(model, request_no, family)):
        path = family_path(story, family)
        href = link(path, f"side{request_no}")
        if n == 4:
            href = f"http://{SPAM_HOSTS[request_no % len(SPAM_HOSTS)]}{path}"
        out.append((href, story))
    return out


def _sidebar_html(model: SiteModel, family: str, request_no: int) -> str:
    items = _sidebar_items(model, family, request_no)
    heading = SIDEBAR_HEADINGS[family]
    if family == "web":
        lis = "".join(f'<li><a href="{href}">{t(s.title)}</a></li>' for href, s in items)
        return f'<aside class="side"><h3 class="side-title">{heading}</h3><ol class="side-list">{lis}</ol></aside>\n'
    lis = "".join(f'<li><a href="{href}" target="_blank">{t(s.title)}</a><p>{t(s.summary)}</p></li>' for href, s in items)
    return f'<div class="right"><div class="hd">{heading}</div><ul>{lis}</ul></div>\n'


def _footer(family: str = "legacy") -> str:
    if family == "web":
        return (
            f'<footer class="site-footer"><div class="copy">{FOOTER_TEXT}</div>'
            '<div class="mail"><a href="mailto:yuhy@stdaily.com">mailto: yuhy@stdaily.com</a></div>'
            f'<div class="links">Partners: <a href="http://{SPAM_HOSTS[0]}/">{SPAM_HOSTS[0]}</a></div></footer>\n'
            "</body></html>\n"
        )
    return (
        f'<div class="footer"><p>{FOOTER_TEXT}</p>'
        '<p><a href="mailto:yuhy@stdaily.com">mailto: yuhy@stdaily.com</a></p>'
        f'<p>Partners: <a href="http://{SPAM_HOSTS[0]}/">{SPAM_HOSTS[0]}</a></p></div>\n'
        "</body></html>\n"
    )


# -- articles -------------------------------------------------------------------------------


def meta_line(story: Story, published: str, family: str = "legacy") -> str:
    """The meta line as printed, in the story's spacing variant.

    The two CMSs of a twin each print it their own way: where one writes
    "Source: X", the other writes "Source:X".
    """
    src, author = story.source, story.author
    style = story.meta_style
    if story.twin and family == "web" and style in (0, 1):
        style = 1 - style
    return {
        0: f"Source: {src} | {published} | Author: {author}",
        1: f"Source:{src} | {published} | Author:{author}",
        2: f"Source: | {published} | Author:",
        3: f"Source: | {published}| Author: {author}",
        4: f"Source: {src}| {published}| Author: {author}",
    }[style]


def _visible_meta(story: Story, published: str, family: str) -> str:
    """The meta line's visible text: the /web/ CMS sets its three parts in spans, tidying the spacing."""
    meta = meta_line(story, published, family)
    return " | ".join(part.strip() for part in meta.split("|")) if family == "web" else meta


def _figure(story: Story, family: str) -> list[str]:
    out = []
    src = story.pictures.get(family)
    if src and family == "web":
        out.append(f'<div class="pic"><img src="http://www.stdaily.com{src}" alt=""></div>')
    elif src:
        out.append(f'<p style="text-align: center"><img src="{src}" border="0" alt="" /></p>')
    if story.caption:
        if family == "web":
            out.append(f'<p class="pic-text">{t(story.caption)} ({t(story.credit or "")})</p>')
        else:
            credit = t(story.credit or "").replace(": ", ":&nbsp;")
            out.append(f'<p style="text-align: center">{t(story.caption)} ({credit})</p>')
    return out


def _content(story: Story, epoch: int, family: str, alt: bool = False, paragraph: str | None = None) -> str:
    tag = "div" if alt else "p"
    parts: list[str] = []
    byline = f"<{tag}>{t(story.byline)}</{tag}>" if story.byline else ""
    figure = _figure(story, family)
    if alt:
        figure = [f.replace("<p", "<div").replace("</p>", "</div>") for f in figure]
    parts += [byline, *figure] if story.byline_first else [*figure, byline]
    sections = story.sections_at(epoch)
    if paragraph is not None:
        sections[-1][1].append(paragraph)
    for n, (heading, paragraphs) in enumerate(sections):
        if heading:
            if alt:
                parts.append(f"<div>{t(heading)}</div>")
            elif family == "web" and n % 2:
                parts.append(f"<h3>{t(heading)}</h3>")
            else:
                parts.append(f"<p><strong>{t(heading)}</strong></p>")
        indent = "\u3000\u3000" if family == "legacy" and story.index % 3 == 0 else ""
        parts += [f"<{tag}>{indent}{t(printed(p))}</{tag}>" for p in paragraphs]
    return "\n".join(p for p in parts if p)


def article_page(
    model: SiteModel,
    story: Story,
    generation: str,
    request_no: int,
    *,
    title: str | None = None,
    paragraph: str | None = None,
    after_body: str = "",
    charset: str | None = None,
) -> str:
    """One article page. The keywords are hostile additions of the faults: a title printed
    instead of the story's, one more body paragraph, HTML after the body, a meta charset."""
    family = gen_family(generation)
    published = f"{story.published:%Y-%m-%d %H:%M:%S}"
    title = story.title if title is None else title
    charset = charset or ("gbk" if story.encoding == "gbk" else "utf-8")
    drift = model.config.drift
    if drift == "meta" or (story.layout == "alt" and model.config.page_markup != "redesign"):
        page = _alt_article(model, story, family, published, request_no, charset, title, paragraph, after_body,
                            meta=drift != "meta")
    elif model.config.page_markup == "redesign":
        page = _redesign_article(model, story, family, published, request_no, charset, title, paragraph, after_body)
    else:
        page = _standard_article(model, story, family, published, request_no, charset, title, paragraph, after_body)
    if story.layout == "mirror":
        page = mirror(page, request_no)
    return _finish(model, page)


def _standard_article(
    model: SiteModel, story: Story, family: str, published: str, request_no: int, charset: str,
    title: str, paragraph: str | None, after_body: str,
) -> str:
    label = story.section_label()
    crumb_list = channel_list_path(model, story.channel, family)
    side = _sidebar_html(model, family, request_no)
    editor = f"Editor: {t(story.editor)}" if story.editor else ""
    content = _content(story, model.epoch, family, paragraph=paragraph)
    if family == "legacy":
        return (
            _head(title, charset)
            + "<body>\n"
            + _nav(model, family, story.title)
            + '<div class="main"><div class="left">\n'
            + f'<div class="position">position: <a href="/English/index.shtml">EnglishChannel</a> &gt; '
            f'<a href="{link(crumb_list, "crumb")}">{t(label)}</a> &gt; Article</div>\n'
            + '<div class="article">\n'
            + f"<h1>{t(title)}</h1>\n"
            + f'<div class="info">{t(meta_line(story, published, family))}</div>\n'
            + '<div class="share">Share: <a href="http://service.weibo.com/share/share.php">Weibo</a> '
            '<a href="#">WeChat</a> <img src="/English/images/ewm.png" width="80" height="80" alt="" /></div>\n'
            + f'<div id="Zoom">\n{content}\n</div>\n'
            + after_body
            + (f'<div class="editor">{editor}</div>\n' if editor else "")
            + "</div></div>\n"
            + side
            + "</div>\n"
            + _footer(family)
        )
    return (
        _head(title, charset, family)
        + '<body class="web">\n'
        + _nav(model, family, story.title)
        + '<div class="container">\n'
        + f'<div class="crumbs">position: <a href="/web/English/index.html">EnglishChannel</a>&nbsp;&nbsp;&gt; '
        f'<a href="{link(crumb_list, "crumb")}">{t(label)}</a>&gt; {t(title)}</div>\n'
        + '<div class="detail">\n'
        + f'<h2 class="detail-title">{t(title)}</h2>\n'
        + f'<div class="detail-info">{_spans(meta_line(story, published, family))}</div>\n'
        + f'<div class="detail-content">\n{content}\n</div>\n'
        + after_body
        + (f'<p class="detail-editor">{editor}</p>\n' if editor else "")
        + "</div>\n"
        + side
        + "</div>\n"
        + _footer(family)
    )


def _spans(meta: str) -> str:
    return " | ".join(f"<span>{t(part.strip())}</span>" for part in meta.split("|"))


def _alt_article(
    model: SiteModel, story: Story, family: str, published: str, request_no: int, charset: str,
    title: str, paragraph: str | None, after_body: str, meta: bool = True,
) -> str:
    """A redesign no selector knows: table layout, sidebar first, meta over three lines (or none at all)."""
    tail = "Article" if family == "legacy" else t(title)
    list_path = channel_list_path(model, story.channel, family)
    return (
        _head(title, charset)
        + "<body><table width=\"1000\" class=\"wrap\"><tr>\n"
        + f'<td class="aside" width="300" valign="top">{_sidebar_html(model, family, request_no)}</td>\n'
        + '<td class="main" valign="top">\n'
        + '<ul class="bread"><li>position:</li><li><a href="/English/index.shtml">EnglishChannel</a></li><li>&gt;</li>'
        f'<li><a href="{link(list_path, "alt")}">{t(story.section_label())}</a></li><li>&gt;</li><li>{tail}</li></ul>\n'
        + f'<div class="t">{t(title)}</div>\n'
        + (
            f'<div class="src">Source: {t(story.source)}</div><div class="time">{published}</div>'
            f'<div class="au">Author: {t(story.author)}</div>\n'
            if meta
            else f'<div class="time">{published[:10]}</div>\n'
        )
        + f'<div class="txt">\n{_content(story, model.epoch, family, alt=True, paragraph=paragraph)}\n</div>\n'
        + after_body
        + (f"<div>Editor: {t(story.editor)}</div>\n" if story.editor else "")
        + "</td></tr></table>\n"
        + f'<div class="foot">{FOOTER_TEXT}</div></body></html>\n'
    )


# -- the redesign: every page in a markup no selector knows ---------------------------------


def _rd_crumb(family: str, home: str, label: str, list_href: str | None, tail: str | None) -> str:
    """The breadcrumb's visible text as the site prints it, in new markup."""
    if family == "web":
        lead = "position: " if tail is not None else ""
        sep = "&nbsp;&nbsp;&gt; "
    else:
        lead, sep = "position: ", " &gt; "
    section = f'<a href="{list_href}">{t(label)}</a>' if list_href else f"<span>{t(label)}</span>"
    crumb = f'{lead}<a href="{home}">EnglishChannel</a>{sep}{section}'
    if tail is not None:
        crumb += ("&gt; " if family == "web" else " &gt; ") + f"<span>{tail}</span>"
    return f'<nav class="trail" aria-label="breadcrumb">{crumb}</nav>\n'


def _rd_shell(
    model: SiteModel, family: str, title: str, charset: str, main: str, request_no: int, salt: str, rail_on: bool = True
) -> str:
    menu = "".join(f'<li><a href="{href}">{t(label)}</a></li>' for label, href in _nav_links(model, family, salt))
    items = _sidebar_items(model, family, request_no) if rail_on else []
    rail = "".join(
        f'<li><a href="{href}">{t(s.title)}</a>' + (f"<p>{t(s.summary)}</p>" if family == "legacy" else "") + "</li>"
        for href, s in items
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head>\n"
        f"<meta charset=\"{charset}\">\n"
        f"<title>{t(title)} - 中国科技网</title>\n"
        "<link rel=\"stylesheet\" href=\"/static/en/app.css\">\n"
        "</head>\n<body class=\"en-app\">\n"
        f'<header class="masthead"><a class="masthead-logo" href="{HOMES[family]}">'
        '<img src="/web/English/images/logo_en.png" alt="Science and Technology Daily"></a>\n'
        f'<nav class="masthead-menu"><ul>{menu}</ul></nav></header>\n'
        + f'<main class="layout">\n{main}'
        + (f'<aside class="rail"><h2 class="rail-head">{SIDEBAR_HEADINGS[family]}</h2><ul class="rail-list">{rail}</ul></aside>\n'
           if rail_on else "")
        + "</main>\n"
        f'<footer class="colophon"><p>{FOOTER_TEXT}</p>'
        '<p><a href="mailto:yuhy@stdaily.com">mailto: yuhy@stdaily.com</a></p></footer>\n'
        "</body></html>\n"
    )


def _redesign_article(
    model: SiteModel, story: Story, family: str, published: str, request_no: int, charset: str,
    title: str, paragraph: str | None, after_body: str,
) -> str:
    parts: list[str] = []
    byline = f'<p class="story-by">{t(story.byline)}</p>' if story.byline else ""
    figure = ""
    src = story.pictures.get(family)
    if src or story.caption:
        img = f'<img src="{src}" alt="">' if src else ""
        cap = f"<figcaption>{t(story.caption)} ({t(story.credit or '')})</figcaption>" if story.caption else ""
        figure = f'<figure class="story-figure">{img}{cap}</figure>'
    parts += [byline, figure] if story.byline_first else [figure, byline]
    sections = story.sections_at(model.epoch)
    if paragraph is not None:
        sections[-1][1].append(paragraph)
    for heading, paragraphs in sections:
        if heading:
            parts.append(f'<h2 class="story-subhead">{t(heading)}</h2>')
        parts += [f"<p>{t(printed(p))}</p>" for p in paragraphs]
    meta = t(_visible_meta(story, published, family)).replace(
        published, f'<time datetime="{story.published:%Y-%m-%dT%H:%M:%S}+08:00">{published}</time>', 1
    )
    list_href = link(channel_list_path(model, story.channel, family), "rd")
    main = (
        _rd_crumb(family, HOMES[family], story.section_label(), list_href, "Article" if family == "legacy" else t(title))
        + '<article class="story">\n'
        + f'<header class="story-head"><h1 class="story-headline">{t(title)}</h1>\n'
        + f'<p class="story-dateline">{meta}</p></header>\n'
        + '<div class="story-text">\n' + "\n".join(p for p in parts if p) + "\n</div>\n"
        + after_body
        + (f'<p class="story-sign">Editor: {t(story.editor)}</p>\n' if story.editor else "")
        + "</article>\n"
    )
    return _rd_shell(model, family, title, charset, main, request_no, story.title)


# -- mirrors --------------------------------------------------------------------------------

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


# -- lists, homepages, the rest -------------------------------------------------------------


def list_page(model: SiteModel, channel: str, family: str, page_no: int, request_no: int, *, entries: bool = True) -> str | None:
    """Page ``page_no`` of a channel's list (None past the end); ``entries=False``: the page with its entries gone."""
    pages = model.pages(channel, family)
    if not 1 <= page_no <= len(pages):
        return None
    shown = pages[page_no - 1] if entries else []
    paging = []
    for p in range(1, len(pages) + 1):
        target = channel_list_path(model, channel, family, p).rsplit("/", 1)[1]
        paging.append(f"<span>{p}</span>" if p == page_no else f'<a href="{target}">{p}</a>')
    if model.config.page_markup == "redesign":
        cards = "".join(
            f'<article class="card"><h2 class="card-title"><a href="{_entry_href(e, family, f"list{n}{page_no}")}">'
            f'{t(e.title)}</a></h2><p class="card-dek">{t(e.summary)}</p></article>'
            for n, e in enumerate(shown)
        )
        main = (
            _rd_crumb(family, HOMES[family], channel, None, None)
            + f'<section class="stream">{cards}</section>\n'
            + f'<nav class="pager">{" ".join(paging)}</nav>\n'
        )
        return _rd_shell(model, family, channel, "utf-8", main, request_no, f"{channel}{page_no}", rail_on=entries)
    items = []
    for n, entry in enumerate(shown):
        href = _entry_href(entry, family, f"list{n}{page_no}")
        if family == "legacy":
            items.append(f'<li><h3><a href="{href}" target="_blank">{t(entry.title)}</a></h3><p>{t(entry.summary)}</p></li>')
        else:
            items.append(
                f'<div class="item"><a class="title" href="{href}">{t(entry.title)}</a>'
                f'<div class="summary">{t(entry.summary)}</div></div>'
            )
    if family == "legacy":
        crumb = (
            f'<div class="position">position: <a href="/English/index.shtml">EnglishChannel</a> &gt; '
            f"<span>{t(channel)}</span></div>"
        )
        body = f'<div class="list"><ul>{"".join(items)}</ul></div>'
        pager = (
            f'<div class="page"><script>createPageHTML({len(pages)}, {page_no - 1}, "common_list", "shtml");</script>'
            f'{" ".join(paging)}</div>'
        )
        wrap = '<div class="main"><div class="left">\n'
    else:
        crumb = f'<div class="crumbs"><a href="/web/English/index.html">EnglishChannel</a>&nbsp;&nbsp;&gt; {t(channel)}</div>'
        body = f'<div class="news-list">{"".join(items)}</div>'
        pager = f'<div class="pages">{" ".join(paging)}</div>'
        wrap = '<div class="container"><div class="col-main">\n'
    page = (
        _head(channel, family=family)
        + "<body>\n"
        + _nav(model, family, f"{channel}{page_no}")
        + wrap
        + f"{crumb}\n{body}\n{pager}\n"
        + "</div>\n"
        + (_sidebar_html(model, family, request_no) if entries else "")  # gone with the entries: no article link left
        + "</div>\n"
        + _footer(family)
    )
    return _finish(model, page)


def _entry_href(entry: Entry, family: str, salt: str) -> str:
    if entry.kind == "offsite":
        return f"http://{entry.host}{entry.path}"
    href = link(entry.path, salt)
    if family == "web" and href.startswith("/web/English/") and random.Random(salt + entry.path).random() < 0.2:
        return href.removeprefix("/web/English/")  # relative to the list page
    return href


def home_page(model: SiteModel, family: str, request_no: int) -> str:
    latest = sorted(model.live_stories(), key=lambda s: s.published, reverse=True)[:10]
    items = "".join(f'<li><a href="{link(family_path(s, family), "home")}">{t(s.title)}</a></li>' for s in latest)
    if model.config.page_markup == "redesign":
        main = f'<section class="stream"><ul class="headlines">{items}</ul></section>\n'
        return _rd_shell(model, family, "English", "utf-8", main, request_no, f"home-{family}")
    page = (
        _head("English", family=family)
        + "<body>\n"
        + _nav(model, family, f"home-{family}")
        + f'<div class="main"><div class="focus"><ul>{items}</ul></div>\n'
        + _sidebar_html(model, family, request_no)
        + "</div>\n"
        + _footer(family)
    )
    return _finish(model, page)


def special_page(model: SiteModel, entry: Entry, request_no: int) -> str:
    """A special-topic page: a banner and links, no meta line, no body."""
    stories = sidebar(model, request_no + 7, "web")
    links = "".join(f'<li><a href="{link(family_path(s, "web"), "zt")}">{t(s.title)}</a></li>' for s in stories)
    banner = f"<h1>{t(entry.title)}</h1><p>{t(entry.summary)}</p><ul>{links}</ul>"
    if model.config.page_markup == "redesign":
        return _rd_shell(model, "web", entry.title, "utf-8", f'<section class="topic">{banner}</section>\n', request_no, "zt")
    page = (
        _head(entry.title, family="web")
        + "<body>\n"
        + _nav(model, "web", "zt")
        + f'<div class="zt"><div class="banner"><h1>{t(entry.title)}</h1></div>'
        f"<p>{t(entry.summary)}</p><ul>{links}</ul></div>\n"
        + _footer("web")
    )
    return _finish(model, page)


def not_found_page() -> str:
    return _head("404") + "<body><h1>404 Not Found</h1><p>The page you requested does not exist.</p></body></html>\n"


def nested_divs_page() -> str:
    """5 MB of nested divs around a sentence: a page no extractor should choke on."""
    depth = 5 * 1024 * 1024 // 11
    return "<html><body>" + "<div>" * depth + "Deep inside." + "</div>" * depth + "</body></html>"


def robots_txt(model: SiteModel) -> str:
    """robots.txt's rules: the robots-forbidden article first, then the rest."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {path}" for path in model.robots_paths()]
    lines += ["Disallow: /web/English/search/", "Disallow: /English/search/"]
    if "robots-channel" in model.config.faults:
        lines += ["Disallow: /English/WorldNews/common_list", f"Disallow: /web/English/node_{model.nodes['Cooperation']}"]
    if model.config.crawl_delay:
        lines.append(f"Crawl-delay: {model.config.crawl_delay:g}")
    return "\n".join(lines) + "\n"
