"""Tests for country tagging: names, aliases, look-alikes and the seed briefing."""

import re
import time
from pathlib import Path

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stories.importer.parser import parse_briefing
from stories.importer.places import COUNTRY_FOR_TERM, COUNTRY_NAMES, find_countries

REPO = Path(__file__).resolve().parents[1]
SEED_CANDIDATES = (
    REPO / "fixtures" / "briefing.txt",
    REPO.parent / "shared" / "seed" / "briefing.txt",
)


def seed_story_texts():
    for path in SEED_CANDIDATES:
        if path.exists():
            briefing = parse_briefing(path.read_text(encoding="utf-8"))
            return [
                "\n".join((story.headline, story.deck, *story.paragraphs))
                for story in briefing.stories
            ]
    pytest.fail(f"seed briefing not found at any of {[str(path) for path in SEED_CANDIDATES]}")


# --- the seed briefing -----------------------------------------------------------------------


def test_find_countries_seed_summit_story():
    assert find_countries(seed_story_texts()[0]) == [
        "North Korea",
        "Russia",
        "United States",
        "Ukraine",
        "South Korea",
        "China",
    ]


def test_find_countries_seed_fujian_story():
    assert find_countries(seed_story_texts()[1]) == ["China", "Taiwan"]


def test_find_countries_seed_military_bases_story():
    assert find_countries(seed_story_texts()[2]) == ["China", "Taiwan"]


def test_find_countries_seed_lawmakers_story():
    assert find_countries(seed_story_texts()[3]) == ["United States", "China"]


# --- display names ---------------------------------------------------------------------------


def test_country_names_cover_iso_list_except_antarctica():
    assert len(COUNTRY_NAMES) == len(pycountry.countries) - 1
    assert "Antarctica" not in COUNTRY_NAMES
    assert find_countries("Scientists wintered in Antarctica.") == []


def test_country_names_are_unique():
    assert len(set(COUNTRY_NAMES)) == len(COUNTRY_NAMES)


def test_country_names_have_no_list_wording():
    republics = {
        "Central African Republic",
        "Czech Republic",
        "Democratic Republic of Congo",
        "Dominican Republic",
        "Republic of Congo",
    }
    for name in COUNTRY_NAMES:
        assert "," not in name and "(" not in name, name
        assert "Republic" not in name or name in republics, name
        assert not re.search(r"\b(Kingdom of|State of|Province of|Federation|Federated)\b", name)
        assert not re.search(r"\b(Islamic|Plurinational|Bolivarian|Arab Republic)\b", name)


@pytest.mark.parametrize(
    "name",
    [
        "Russia",
        "United States",
        "United Kingdom",
        "South Korea",
        "North Korea",
        "Taiwan",
        "Iran",
        "Syria",
        "Vietnam",
        "Laos",
        "Bolivia",
        "Venezuela",
        "Tanzania",
        "Moldova",
        "Brunei",
        "Democratic Republic of Congo",
        "Republic of Congo",
        "Vatican City",
        "Palestine",
        "Ivory Coast",
        "Cape Verde",
        "Micronesia",
        "Falkland Islands",
        "Cocos Islands",
        "British Virgin Islands",
        "U.S. Virgin Islands",
        "Caribbean Netherlands",
        "Saint Martin",
        "Sint Maarten",
        "Saint Helena",
        "Turkey",
        "Czech Republic",
        "Macau",
        "Hong Kong",
        "East Timor",
        "Eswatini",
        "Myanmar",
    ],
)
def test_country_names_use_newsroom_names(name):
    assert name in COUNTRY_NAMES
    assert find_countries(f"News from {name} today.") == [name]


def test_country_for_term_maps_every_display_name_to_itself():
    assert all(COUNTRY_FOR_TERM[name] == name for name in COUNTRY_NAMES)


def test_country_for_term_tags_only_display_names():
    assert set(COUNTRY_FOR_TERM.values()) - {None} == set(COUNTRY_NAMES)


# --- matching --------------------------------------------------------------------------------


def test_find_countries_keeps_order_of_first_mention():
    text = "Talks in Japan, then Kenya, then Japan again, then Peru and Kenya."
    assert find_countries(text) == ["Japan", "Kenya", "Peru"]


def test_find_countries_lists_each_country_once():
    text = "Russia and Moscow and Russians and the Russian Federation."
    assert find_countries(text) == ["Russia"]


def test_find_countries_empty_text():
    assert find_countries("") == []


def test_find_countries_is_case_sensitive():
    assert find_countries("Let us fire the china and roast the turkey in jordan.") == []
    assert find_countries("us US") == ["United States"]


@pytest.mark.parametrize(
    ("text", "countries"),
    [
        ("Niger and Nigeria", ["Niger", "Nigeria"]),
        ("Nigeria only", ["Nigeria"]),
        ("Nigerien troops", ["Niger"]),
        ("Papua New Guinea", ["Papua New Guinea"]),
        ("Guinea and Guinea-Bissau", ["Guinea", "Guinea-Bissau"]),
        ("Equatorial Guinea", ["Equatorial Guinea"]),
        ("USB sticks and US trade", ["United States"]),
        ("USB sticks", []),
        ("a U.S.-led coalition", ["United States"]),
        ("the U.S.A. and the U.K.", ["United States", "United Kingdom"]),
        ("USA", ["United States"]),
        ("South Sudan", ["South Sudan"]),
        ("Sudan and South Sudan", ["Sudan", "South Sudan"]),
        ("American Samoa", ["American Samoa"]),
        ("Dominica", ["Dominica"]),
        ("Dominican Republic", ["Dominican Republic"]),
        ("Samoa", ["Samoa"]),
        ("North Korea’s leader", ["North Korea"]),
        ("North Korea's leader", ["North Korea"]),
        ("the Russia-North Korea border", ["Russia", "North Korea"]),
        ("(Taiwan)", ["Taiwan"]),
        ("Taiwan2024 hashtag", []),
        ("Irishman", []),
        ("Indiana and Indianapolis", []),
        ("Oman, Omaha", ["Oman"]),
    ],
)
def test_find_countries_matches_whole_words_longest_first(text, countries):
    assert find_countries(text) == countries


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Côte d'Ivoire", "Ivory Coast"),
        ("Côte d’Ivoire", "Ivory Coast"),
        ("Cote d'Ivoire", "Ivory Coast"),
        ("Ivorian", "Ivory Coast"),
        ("Burma", "Myanmar"),
        ("Swaziland", "Eswatini"),
        ("Czechia", "Czech Republic"),
        ("Türkiye", "Turkey"),
        ("Cabo Verde", "Cape Verde"),
        ("Timor-Leste", "East Timor"),
        ("Macao", "Macau"),
        ("Viet Nam", "Vietnam"),
        ("Britain", "United Kingdom"),
        ("Great Britain", "United Kingdom"),
        ("UK", "United Kingdom"),
        ("UAE", "United Arab Emirates"),
        ("DPRK", "North Korea"),
        ("PRC", "China"),
        ("America", "United States"),
        ("Russian Federation", "Russia"),
        ("Republic of Korea", "South Korea"),
        ("Democratic People's Republic of Korea", "North Korea"),
        ("Democratic People’s Republic of Korea", "North Korea"),
        ("People's Republic of China", "China"),
        ("Lao People's Democratic Republic", "Laos"),
        ("Syrian Arab Republic", "Syria"),
        ("Holy See", "Vatican City"),
        ("Democratic Republic of the Congo", "Democratic Republic of Congo"),
        ("Republic of the Congo", "Republic of Congo"),
        ("St. Lucia", "Saint Lucia"),
        ("Falklands", "Falkland Islands"),
        ("Chinese Taipei", "Taiwan"),
    ],
)
def test_find_countries_knows_other_names(text, country):
    assert find_countries(f"Reports from {text} said so.") == [country]


@pytest.mark.parametrize(
    ("capital", "country"),
    [
        ("Pyongyang", "North Korea"),
        ("Seoul", "South Korea"),
        ("Moscow", "Russia"),
        ("Beijing", "China"),
        ("Taipei", "Taiwan"),
        ("Tokyo", "Japan"),
        ("Kyiv", "Ukraine"),
        ("Kiev", "Ukraine"),
        ("London", "United Kingdom"),
        ("Paris", "France"),
        ("Berlin", "Germany"),
        ("Tehran", "Iran"),
        ("Baghdad", "Iraq"),
        ("Damascus", "Syria"),
        ("Kabul", "Afghanistan"),
        ("Islamabad", "Pakistan"),
        ("New Delhi", "India"),
        ("Ankara", "Turkey"),
        ("Riyadh", "Saudi Arabia"),
        ("Cairo", "Egypt"),
        ("Ottawa", "Canada"),
        ("Canberra", "Australia"),
        ("Havana", "Cuba"),
        ("Caracas", "Venezuela"),
        ("Manila", "Philippines"),
        ("Hanoi", "Vietnam"),
        ("Bangkok", "Thailand"),
        ("Jakarta", "Indonesia"),
        ("Minsk", "Belarus"),
        ("Mexico City", "Mexico"),
    ],
)
def test_find_countries_knows_capitals(capital, country):
    assert find_countries(f"Officials in {capital} said so.") == [country]


@pytest.mark.parametrize(
    ("demonym", "country"),
    [
        ("Russian", "Russia"),
        ("Russians", "Russia"),
        ("Chinese", "China"),
        ("North Korean", "North Korea"),
        ("North Koreans", "North Korea"),
        ("South Korean", "South Korea"),
        ("Ukrainian", "Ukraine"),
        ("American", "United States"),
        ("Americans", "United States"),
        ("British", "United Kingdom"),
        ("French", "France"),
        ("German", "Germany"),
        ("Japanese", "Japan"),
        ("Taiwanese", "Taiwan"),
        ("Iranian", "Iran"),
        ("Israeli", "Israel"),
        ("Palestinian", "Palestine"),
        ("Indian", "India"),
        ("Pakistani", "Pakistan"),
        ("Afghan", "Afghanistan"),
        ("Syrian", "Syria"),
        ("Iraqi", "Iraq"),
        ("Turkish", "Turkey"),
        ("Saudi", "Saudi Arabia"),
        ("Egyptian", "Egypt"),
        ("Mexican", "Mexico"),
        ("Canadian", "Canada"),
        ("Brazilian", "Brazil"),
        ("Australian", "Australia"),
        ("Italian", "Italy"),
        ("Spanish", "Spain"),
        ("Polish", "Poland"),
        ("Dutch", "Netherlands"),
        ("Swiss", "Switzerland"),
        ("Greek", "Greece"),
        ("Vietnamese", "Vietnam"),
        ("Filipino", "Philippines"),
        ("Indonesian", "Indonesia"),
        ("Thai", "Thailand"),
        ("Cuban", "Cuba"),
        ("Venezuelan", "Venezuela"),
        ("Nigerian", "Nigeria"),
        ("Kenyan", "Kenya"),
        ("South African", "South Africa"),
        ("Belarusian", "Belarus"),
    ],
)
def test_find_countries_knows_demonyms(demonym, country):
    assert find_countries(f"The {demonym} delegation left.") == [country]


@pytest.mark.parametrize(
    "text",
    [
        "Africa, Asia, Europe, Oceania and Antarctica",
        "the Americas",
        "South America and North America",
        "Latin America and Central America",
        "South American, North Americans, Latin American and Central Americans",
        "the Indian Ocean",
        "American Indian and Native American art",
        "New Mexico and New Jersey",
        "New South Wales",
        "the Korean Peninsula after the Korean War",
        "a Guinea pig",
        "Turkish delight with French fries",
        "a Dutch oven of Swiss cheese",
        "Chinese checkers",
        "the Arabian Sea and the Persian Gulf",
        "the Gulf of Mexico",
        "Papua and New Guinea",
        "the Congo basin",
        "Korean and Georgian food",
        "Washington said so",
        "Jerusalem said so",
        "the UN Security Council",
        "the EU, NATO and ASEAN",
        "TASS and Xinhua reported",
        "the RAND Corporation",
    ],
)
def test_find_countries_ignores_look_alikes(text):
    assert find_countries(text) == []


def test_find_countries_look_alike_does_not_hide_other_mentions():
    text = "From New Mexico to Mexico, and across the Indian Ocean to India."
    assert find_countries(text) == ["Mexico", "India"]


def test_find_countries_works_in_any_script_context():
    assert find_countries("«Россия» и Russia, 中国 и China; 🇺🇦 Ukraine!") == [
        "Russia",
        "China",
        "Ukraine",
    ]


def test_find_countries_is_fast_on_long_stories():
    text = " ".join(seed_story_texts()).split()
    long_text = " ".join((text * 10)[:5000])
    find_countries(long_text)
    started = time.perf_counter()
    for _ in range(10):
        find_countries(long_text)
    per_call = (time.perf_counter() - started) / 10
    # About a millisecond on a laptop; the bound only catches a scan that went quadratic.
    assert per_call < 0.05


# --- properties ------------------------------------------------------------------------------

# The scan is built as a trie for speed; it must mean exactly a longest-first alternation.
LONGEST_FIRST = re.compile(
    r"(?<![^\W_])(?:"
    + "|".join(re.escape(term) for term in sorted(COUNTRY_FOR_TERM, key=lambda t: (-len(t), t)))
    + r")(?![^\W_])"
)


def longest_first_countries(text):
    found = (COUNTRY_FOR_TERM[match.group()] for match in LONGEST_FIRST.finditer(text))
    return list(dict.fromkeys(country for country in found if country))


TERMS = st.sampled_from(sorted(COUNTRY_FOR_TERM))
GLUE = st.sampled_from(["", " ", "-", "’s ", "s ", ", ", "a", "1", "_", "\n", " New ", "South "])
PIECES = st.lists(st.one_of(TERMS, GLUE, st.text(max_size=5)), max_size=30).map("".join)


@settings(max_examples=200, deadline=None)
@given(PIECES)
def test_find_countries_matches_longest_first_alternation(text):
    assert find_countries(text) == longest_first_countries(text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_find_countries_returns_known_names_once(text):
    countries = find_countries(text)
    assert len(set(countries)) == len(countries)
    assert set(countries) <= set(COUNTRY_NAMES)
