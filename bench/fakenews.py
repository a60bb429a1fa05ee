"""Deterministic fake news for the benchmark: headlines, 600-word bodies, names, countries.

Seeded, so every run (and every machine) benchmarks the same newsroom.
"""

import random

import pycountry

WORDS = (
    "government minister official report council election vote budget policy reform "
    "talks agreement trade border economy market price energy oil gas water climate "
    "weather storm flood drought harvest farmers workers union strike court judge ruling "
    "law police protest crowd city capital region province village school hospital "
    "health doctors vaccine study research data scientists company shares investors bank "
    "interest rates inflation jobs growth export import ports shipping rail road bridge "
    "project funding aid refugees families children women men leaders summit meeting "
    "statement spokesman spokeswoman week month year morning evening night said told "
    "added warned expected planned announced confirmed denied rejected approved signed "
    "new old first last major local national international public private military "
    "security peace ceasefire army navy air force troops negotiators opposition party "
    "parliament senate president prime coalition campaign candidates voters turnout "
    "results count observers journalists press freedom internet phone network power "
    "grid outage repair construction housing rent wages pension tax revenue spending"
).split()
FIRST_NAMES = (
    "Ana Ben Chloe David Elena Farid Grace Hiro Ines Jonas Kemi Liam Maya Nikolai Olu "
    "Priya Quentin Rosa Sami Tara Umar Vera Wen Ximena Yusuf Zara"
).split()
LAST_NAMES = (
    "Abbott Barros Chen Dlamini Eriksen Fischer Garcia Haddad Ivanova Jensen Kowalski "
    "Lima Mensah Nakamura Okafor Petrov Quispe Rossi Santos Tanaka Usman Varga Weber "
    "Xu Yilmaz Zhou"
).split()
SECTIONS = [
    # (slug, name, share of stories): uneven like a real newsroom, and the biggest one is
    # deep enough (2,500 stories = 125 pages of 20) to benchmark its page 100.
    ("world", "World", 0.25),
    ("politics", "Politics", 0.15),
    ("business", "Business", 0.15),
    ("science", "Science", 0.10),
    ("health", "Health", 0.10),
    ("sport", "Sport", 0.10),
    ("culture", "Culture", 0.08),
    ("opinion", "Opinion", 0.07),
]


def country_names(count):
    """Common names of ``count`` countries, the way the tagger prints them."""
    names = []
    for country in pycountry.countries:
        name = getattr(country, "common_name", None) or country.name
        if "," in name or "(" in name:
            continue
        names.append(name)
    return sorted(names)[:count]


def byline_names(count, rng):
    names = set()
    while len(names) < count:
        names.add(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
    return sorted(names)


def sentence(rng, length, extra=()):
    words = [rng.choice(WORDS) for _ in range(length)]
    for word in extra:
        words.insert(rng.randrange(len(words)), word)
    words[0] = words[0].capitalize()
    return " ".join(words) + "."


def body_paragraphs(rng, words=600, mentions=()):
    """About ``words`` words in paragraphs of ~100, mentioning ``mentions`` once each."""
    paragraphs, remaining, mentions = [], words, list(mentions)
    while remaining > 0:
        size = min(remaining, 100)
        sentences, left = [], size
        while left > 0:
            length = min(left, rng.randint(12, 25))
            extra = [mentions.pop()] if mentions else []
            sentences.append(sentence(rng, length, extra))
            left -= length
        paragraphs.append(" ".join(sentences))
        remaining -= size
    return paragraphs


def headline(rng, number):
    """Unique by construction (the number), readable enough, never ending in punctuation."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 9))]
    words[0] = words[0].capitalize()
    return f"{' '.join(words)} {number}"


def deck(rng):
    return sentence(rng, rng.randint(10, 16))


def briefing_text(count, *, seed=5, words=600, countries=None, bylines=None):
    """A briefing of ``count`` stories, each signed off by one or two bylines."""
    rng = random.Random(seed)
    countries = countries or country_names(200)
    bylines = bylines or byline_names(50, rng)
    lines = []
    for number in range(1, count + 1):
        lines.append(headline(rng, number))
        lines.append(deck(rng))
        lines.extend(body_paragraphs(rng, words, rng.sample(countries, 3)))
        signed = rng.sample(bylines, rng.choice((1, 1, 2)))
        lines.append("— By " + " and ".join(signed))
    return "\n".join(lines) + "\n"
