"""Deterministic news prose for the replica: titles, paragraphs, names.

Everything is drawn from a ``random.Random`` the caller seeds, so the same
seed always writes the same site. The text follows the site's house style
(docs/site.md): family names in capitals ("QI Liming"), straight quotes, sentences
that end in a full stop, a few real questions, short sub-headings without one.
Everything here is the clean text a record holds (single spaces, no
non-breaking spaces): the printed forms are the renderer's business.
"""

from __future__ import annotations

import random

COUNTRIES = (
    "Germany", "France", "Italy", "Spain", "Brazil", "Argentina", "Egypt", "Kenya", "Nigeria", "Pakistan",
    "Thailand", "Vietnam", "Indonesia", "Malaysia", "Singapore", "Uzbekistan", "Kazakhstan", "Serbia",
    "Hungary", "Greece", "Portugal", "Chile", "Peru", "Ethiopia", "South Africa", "New Zealand", "Mongolia",
    "Laos", "Cambodia", "Belarus", "Switzerland", "Austria", "Finland", "Norway", "Israel", "Iran",
)
FIELDS = (
    "Hydrogen Energy", "Quantum Communication", "Artificial Intelligence", "Space Science", "Marine Research",
    "Green Agriculture", "Biomedicine", "New Materials", "Climate Change", "Digital Economy", "Rice Breeding",
    "Photovoltaics", "High-speed Rail", "Traditional Medicine", "Earthquake Monitoring", "Polar Research",
    "Desert Control", "Water Conservation", "Smart Cities", "Nuclear Fusion", "Genomics", "Robotics",
    "Semiconductors", "Vaccine Research", "Satellite Navigation", "Wind Power", "Battery Technology",
)
CITIES = (
    "Beijing", "Shanghai", "Shenzhen", "Guangzhou", "Hangzhou", "Wuhan", "Chengdu", "Xi'an", "Hefei",
    "Nanjing", "Tianjin", "Chongqing", "Kunming", "Harbin", "Xiamen", "Qingdao", "Suzhou", "Changsha",
)
ORGS = (
    "the Chinese Academy of Sciences", "Tsinghua University", "Peking University", "Zhejiang University",
    "the Ministry of Science and Technology", "Fudan University", "the China Association for Science and Technology",
    "Wuhan University", "Shanghai Jiao Tong University", "the University of Science and Technology of China",
    "Harbin Institute of Technology", "Sun Yat-sen University", "Xiamen University", "Nanjing University",
)
FOREIGN_ORGS = (
    "the Max Planck Society", "the University of Sao Paulo", "Cairo University", "the University of Nairobi",
    "Chulalongkorn University", "the National University of Singapore", "the University of Belgrade",
    "the University of Chile", "the Hungarian Academy of Sciences", "ETH Zurich", "the University of Helsinki",
    "Tashkent State Technical University", "the Pakistan Academy of Sciences", "the University of Lisbon",
)
SURNAMES = (
    "WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "ZHAO", "HUANG", "ZHOU", "WU", "XU", "SUN", "HU", "ZHU",
    "GAO", "LIN", "HE", "GUO", "MA", "LUO", "LIANG", "SONG", "ZHENG", "XIE", "HAN", "TANG", "FENG", "YU",
    "DONG", "XIAO", "CHENG", "CAO", "YUAN", "DENG", "FU", "SHEN", "ZENG", "PENG", "LYU", "SU", "LU", "JIANG",
    "CAI", "JIA", "DING", "WEI", "XUE", "YE", "YAN", "PAN", "DU", "DAI", "XIA", "ZHONG", "TIAN", "REN", "QI", "ZONG",
)
GIVEN = (
    "Liming", "Shihan", "Hongche", "Yilian", "Yuchen", "Jianli", "Xiaoyu", "Wei", "Min", "Jing", "Lei", "Yang",
    "Chao", "Fang", "Ting", "Qiang", "Hui", "Na", "Yan", "Jun", "Tao", "Xin", "Bo", "Hao", "Yue", "Zihan",
    "Ruoxi", "Haoran", "Yutong", "Zixuan", "Mengqi", "Jiahui", "Xinyi", "Shuang", "Kai", "Peng",
)
CHINESE_NAMES = ("宗诗涵", "卢子建", "李宏策", "刘园园", "张佳星", "陈曦", "操秀英", "于紫月", "崔爽", "付毅飞")
FOREIGN_PEOPLE = (
    "Thomas Mueller", "Maria Santos", "Ahmed Hassan", "Grace Wanjiru", "Somchai Prasert", "Nguyen Van Minh",
    "Elena Petrovic", "Pablo Rojas", "Anna Virtanen", "Lars Hansen", "Yusuf Karimov", "Chiara Rossi",
)
ROLES = ("director", "chief scientist", "professor", "vice president", "senior researcher", "head of the lab")
SOURCES = ("Science and Technology Daily", "Xinhua", "China Daily", "CGTN")
CREDITS = ("PHOTO: XINHUA", "PHOTO: VCG", "COURTESY PHOTO", "PHOTO: S&T Daily", "Photo provided by {org}")

_TITLE_PATTERNS = (
    "China, {country} Deepen Cooperation in {field}",
    "China-{country} Joint Lab Advances {field} Research",
    "Scientists From China and {country} Team Up on {field}",
    "{city} Forum Spotlights Global Cooperation in {field}",
    "Foreign Experts in {city} Share Insights on {field}",
    "{country} Eyes Closer Ties With China in {field}",
    "Young Researchers From {country} Join {field} Program in {city}",
    "China and {country} Sign Agreement on {field}",
    "International Conference on {field} Opens in {city}",
    "How {city} Attracts Global Talent in {field}",
    "Belt and Road Partners Share Know-how in {field}",
    "China's {field} Expertise Helps {country}",
)
_HEADINGS = (
    "A bridge between {country} and China", "Shared labs, shared results", "Talent on the move",
    "From the lab to the market", "Looking ahead", "Next steps for {field}", "Building trust through science",
    "Why {field} matters", "Training the next generation", "Open science at work",
)
_SENTENCES = (
    "{org} and {forg} signed an agreement to jointly develop {lfield} technologies over the next {n} years.",
    "Researchers from both countries have carried out {n} joint projects since {year}.",
    "The cooperation covers basic research, personnel exchange and the sharing of large facilities.",
    "According to {person}, {role} at {org}, the partnership will help both sides tackle common challenges.",
    '"Science has no borders, and cooperation makes us stronger," said {fperson}, {role} of {forg}.',
    "The project has trained more than {n}0 young scientists from {country}.",
    "A joint laboratory in {city} opened last year and now hosts {n} visiting researchers.",
    "What does this mean for ordinary people? Cheaper and cleaner {lfield} products, experts say.",
    "The two sides plan to build a data platform open to researchers around the world.",
    "Local companies in {city} are already testing the results in real conditions.",
    "{fperson} first came to {city} in {year} and has since published {n} papers with Chinese colleagues.",
    "Is the model ready to be copied elsewhere? The team believes it is, with some changes.",
    "The program received funding of {n}0 million yuan from the central government.",
    "Field tests covered an area of {n}0 square kilometers in {country}.",
    "Experts at the forum called for more open data and fewer barriers to exchange.",
    "The results were published in the journal Nature {lfield_short} this month.",
    "Both sides agreed to hold the next meeting in {country} in {year2}.",
    "Students from {country} make up the largest group of international trainees at the center.",
)


class Prose:
    """Writes one article's text from its own random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.country = rng.choice(COUNTRIES)
        self.field = rng.choice(FIELDS)
        self.city = rng.choice(CITIES)

    def person(self) -> str:
        return f"{self.rng.choice(SURNAMES)} {self.rng.choice(GIVEN)}"

    def title(self, variant: int) -> str:
        pattern = _TITLE_PATTERNS[variant % len(_TITLE_PATTERNS)]
        return pattern.format(country=self.country, field=self.field, city=self.city)

    def _fill(self, pattern: str, year: int) -> str:
        r = self.rng
        return pattern.format(
            org=r.choice(ORGS),
            forg=r.choice(FOREIGN_ORGS),
            lfield=self.field.lower(),
            lfield_short=self.field.split()[0],
            n=r.randint(2, 40),
            year=year - r.randint(1, 6),
            year2=year + 1,
            person=self.person(),
            fperson=r.choice(FOREIGN_PEOPLE),
            role=r.choice(ROLES),
            country=self.country,
            city=self.city,
        )

    def paragraph(self, year: int) -> str:
        sentences = self.rng.sample(_SENTENCES, self.rng.randint(2, 4))
        text = " ".join(self._fill(s, year) for s in sentences)
        return text[0].upper() + text[1:]

    def lead(self, year: int) -> str:
        org = self.rng.choice(ORGS)
        return (
            f"{org[0].upper() + org[1:]} and partners from {self.country} "
            f"announced new steps in {self.field.lower()} cooperation in {self.city} on {self.rng.choice(('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'))}. "
            + self._fill(self.rng.choice(_SENTENCES[:4]), year)
        )

    def heading(self) -> str:
        return self.rng.choice(_HEADINGS).format(country=self.country, field=self.field.lower())

    def caption(self) -> str:
        return self.rng.choice(
            (
                f"Researchers from China and {self.country} work at a joint laboratory in {self.city}.",
                f"A view of the {self.field.lower()} exhibition in {self.city}.",
                f"Participants attend the opening ceremony of the forum in {self.city}.",
                f"Scientists check equipment during a field test in {self.country}.",
            )
        )

    def credit(self) -> str:
        return self.rng.choice(CREDITS).format(org=self.rng.choice(ORGS).removeprefix("the "))

    @staticmethod
    def edit(paragraph: str, epoch: int) -> str:
        """A real edit: one sentence added to a paragraph."""
        return paragraph + f" The figures were updated on day {epoch} after the organizers released new data."
