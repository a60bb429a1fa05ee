"""Find the countries and territories a story mentions, for tagging.

Names come from pycountry's ISO 3166 list (Antarctica aside: it is a continent), printed the
way a newsroom prints them. A story mentions a country when it uses one of that country's
names, a common short form, an unambiguous capital or an unambiguous demonym. Matching is
case-sensitive and on whole words; one regular expression scans the text left to right and
prefers the longest term at each position, so "Papua New Guinea" is not also "Guinea".
Look-alike phrases ("New Mexico", "Indian Ocean", "South America") are matched too, so that
they use up their words, but they tag nothing.
"""

import re
from collections.abc import Mapping
from types import MappingProxyType

import pycountry

# ISO lists Antarctica, but it is a continent; news about it is not news about a country.
_NOT_COUNTRIES = {"AQ"}

# Names as a newsroom prints them, where pycountry's name or common name is a list form
# ("Korea, Republic of"), an official form ("Russian Federation") or a less familiar one.
_DISPLAY_NAMES = {
    "BN": "Brunei",
    "BQ": "Caribbean Netherlands",
    "CC": "Cocos Islands",
    "CD": "Democratic Republic of Congo",
    "CG": "Republic of Congo",
    "CI": "Ivory Coast",
    "CV": "Cape Verde",
    "CZ": "Czech Republic",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "MF": "Saint Martin",
    "MO": "Macau",
    "PN": "Pitcairn Islands",
    "PS": "Palestine",
    "RU": "Russia",
    "SH": "Saint Helena",
    "SX": "Sint Maarten",
    "TL": "East Timor",
    "TR": "Turkey",
    "VA": "Vatican City",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
}

# Other ways stories name a country, keyed by display name: short forms, capitals that name
# nothing else of note, and demonyms that belong to one country. Left out on purpose: bare
# "Korean" and "Congo" (two countries each), "Georgian" (also the US state), "Washington"
# (also a state, a newspaper and many people) and "Jerusalem" (its status is disputed).
_ALIASES = {
    "Afghanistan": ("Afghan", "Afghans", "Kabul"),
    "Albania": ("Albanian", "Albanians", "Tirana"),
    "Algeria": ("Algerian", "Algerians", "Algiers"),
    "Argentina": ("Argentine", "Argentines", "Argentinian", "Argentinians", "Buenos Aires"),
    "Armenia": ("Armenian", "Armenians", "Yerevan"),
    "Australia": ("Australian", "Australians", "Canberra"),
    "Austria": ("Austrian", "Austrians", "Vienna"),
    "Azerbaijan": ("Azerbaijani", "Azerbaijanis", "Baku"),
    "Bahamas": ("Bahamian", "Bahamians"),
    "Bahrain": ("Bahraini", "Bahrainis"),
    "Bangladesh": ("Bangladeshi", "Bangladeshis", "Dhaka"),
    "Belarus": ("Belarusian", "Belarusians", "Minsk"),
    "Belgium": ("Belgian", "Belgians"),
    "Bolivia": ("Bolivian", "Bolivians"),
    "Bosnia and Herzegovina": ("Bosnia", "Bosnian", "Bosnians", "Sarajevo"),
    "Brazil": ("Brazilian", "Brazilians", "Brasília", "Brasilia"),
    "Bulgaria": ("Bulgarian", "Bulgarians"),
    "Cambodia": ("Cambodian", "Cambodians", "Phnom Penh"),
    "Canada": ("Canadian", "Canadians", "Ottawa"),
    "Cape Verde": ("Cabo Verde",),
    "Chile": ("Chilean", "Chileans"),
    "China": ("PRC", "Chinese", "Beijing"),
    "Colombia": ("Colombian", "Colombians", "Bogotá", "Bogota"),
    "Croatia": ("Croatian", "Croatians", "Zagreb"),
    "Cuba": ("Cuban", "Cubans", "Havana"),
    "Czech Republic": ("Czechia", "Prague"),
    "Democratic Republic of Congo": (
        "Democratic Republic of the Congo",
        "DR Congo",
        "DRC",
        "Congo-Kinshasa",
        "Kinshasa",
    ),
    "Denmark": ("Danish", "Copenhagen"),
    "East Timor": ("Timor-Leste",),
    "Ecuador": ("Ecuadorian", "Ecuadorians", "Quito"),
    "Egypt": ("Egyptian", "Egyptians", "Cairo"),
    "Eswatini": ("Swaziland",),
    "Ethiopia": ("Ethiopian", "Ethiopians", "Addis Ababa"),
    "Falkland Islands": ("Falklands",),
    "Finland": ("Finnish", "Helsinki"),
    "France": ("French", "Paris"),
    "Germany": ("German", "Germans", "Berlin"),
    "Ghana": ("Ghanaian", "Ghanaians", "Accra"),
    "Greece": ("Greek", "Greeks", "Athens"),
    "Haiti": ("Haitian", "Haitians", "Port-au-Prince"),
    "Hong Kong": ("Hong Konger", "Hong Kongers"),
    "Hungary": ("Hungarian", "Hungarians", "Budapest"),
    "Iceland": ("Icelandic", "Reykjavik", "Reykjavík"),
    "India": ("Indian", "New Delhi"),
    "Indonesia": ("Indonesian", "Indonesians", "Jakarta"),
    "Iran": ("Iranian", "Iranians", "Tehran"),
    "Iraq": ("Iraqi", "Iraqis", "Baghdad"),
    "Ireland": ("Irish", "Republic of Ireland", "Dublin"),
    "Israel": ("Israeli", "Israelis"),
    "Italy": ("Italian", "Italians", "Rome"),
    "Ivory Coast": ("Côte d'Ivoire", "Cote d'Ivoire", "Ivorian", "Ivorians"),
    "Jamaica": ("Jamaican", "Jamaicans"),
    "Japan": ("Japanese", "Tokyo"),
    "Jordan": ("Jordanian", "Jordanians", "Amman"),
    "Kazakhstan": ("Kazakh", "Kazakhs", "Astana"),
    "Kenya": ("Kenyan", "Kenyans", "Nairobi"),
    "Kuwait": ("Kuwaiti", "Kuwaitis"),
    "Kyrgyzstan": ("Kyrgyz", "Bishkek"),
    "Laos": ("Laotian", "Laotians", "Vientiane"),
    "Latvia": ("Latvian", "Latvians", "Riga"),
    "Lebanon": ("Lebanese", "Beirut"),
    "Libya": ("Libyan", "Libyans"),
    "Lithuania": ("Lithuanian", "Lithuanians", "Vilnius"),
    "Macau": ("Macao",),
    "Malaysia": ("Malaysian", "Malaysians", "Kuala Lumpur"),
    "Mexico": ("Mexican", "Mexicans", "Mexico City"),
    "Moldova": ("Moldovan", "Moldovans", "Chisinau", "Chișinău"),
    "Mongolia": ("Mongolian", "Mongolians", "Ulaanbaatar"),
    "Morocco": ("Moroccan", "Moroccans", "Rabat"),
    "Myanmar": ("Burma", "Burmese", "Naypyidaw"),
    "Nepal": ("Nepali", "Nepalis", "Nepalese", "Kathmandu"),
    "Netherlands": ("Dutch", "Amsterdam"),
    "New Zealand": ("New Zealander", "New Zealanders"),
    "Nigeria": ("Nigerian", "Nigerians", "Abuja", "Niger Delta"),
    "Niger": ("Nigerien", "Nigeriens", "Niamey"),
    "North Korea": ("DPRK", "North Korean", "North Koreans", "Pyongyang"),
    "Norway": ("Norwegian", "Norwegians", "Oslo"),
    "Oman": ("Omani", "Omanis", "Muscat"),
    "Pakistan": ("Pakistani", "Pakistanis", "Islamabad"),
    "Palestine": ("Palestinian", "Palestinians", "Gaza", "Gaza Strip", "West Bank"),
    "Peru": ("Peruvian", "Peruvians"),
    "Philippines": ("Filipino", "Filipinos", "Philippine", "Manila"),
    "Poland": ("Polish", "Warsaw"),
    "Portugal": ("Portuguese", "Lisbon"),
    "Qatar": ("Qatari", "Qataris", "Doha"),
    "Romania": ("Romanian", "Romanians", "Bucharest"),
    "Russia": ("Russian", "Russians", "Moscow"),
    "Rwanda": ("Rwandan", "Rwandans", "Kigali"),
    "Saint Helena": ("Ascension Island", "Tristan da Cunha"),
    "Sao Tome and Principe": ("São Tomé and Príncipe",),
    "Saudi Arabia": ("Saudi", "Saudis", "Riyadh"),
    "Senegal": ("Senegalese", "Dakar"),
    "Serbia": ("Serbian", "Serbians", "Belgrade"),
    "Singapore": ("Singaporean", "Singaporeans"),
    "Slovakia": ("Slovak", "Slovaks", "Bratislava"),
    "Somalia": ("Somali", "Somalis", "Mogadishu"),
    "South Africa": ("South African", "South Africans", "Pretoria"),
    "South Georgia and the South Sandwich Islands": ("South Georgia",),
    "South Korea": ("Republic of Korea", "ROK", "South Korean", "South Koreans", "Seoul"),
    "South Sudan": ("South Sudanese", "Juba"),
    "Spain": ("Spanish", "Spaniard", "Spaniards", "Madrid"),
    "Sri Lanka": ("Sri Lankan", "Sri Lankans", "Colombo"),
    "Sudan": ("Sudanese", "Khartoum"),
    "Sweden": ("Swedish", "Swede", "Swedes", "Stockholm"),
    "Switzerland": ("Swiss", "Bern"),
    "Syria": ("Syrian", "Syrians", "Damascus"),
    "Taiwan": ("Taiwanese", "Taipei", "Republic of China", "Chinese Taipei"),
    "Tajikistan": ("Tajik", "Tajiks", "Dushanbe"),
    "Tanzania": ("Tanzanian", "Tanzanians", "Dodoma"),
    "Thailand": ("Thai", "Thais", "Bangkok"),
    "Tunisia": ("Tunisian", "Tunisians", "Tunis"),
    "Turkey": ("Türkiye", "Turkish", "Ankara"),
    "Uganda": ("Ugandan", "Ugandans", "Kampala"),
    "Ukraine": ("Ukrainian", "Ukrainians", "Kyiv", "Kiev"),
    "United Arab Emirates": ("UAE", "Emirati", "Emiratis", "Abu Dhabi"),
    "United Kingdom": (
        "UK",
        "U.K.",
        "Britain",
        "Great Britain",
        "British",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "London",
    ),
    "United States": (
        "US",
        "U.S.",
        "USA",
        "U.S.A.",
        "America",
        "American",
        "Americans",
    ),
    "U.S. Virgin Islands": ("US Virgin Islands",),
    "Uruguay": ("Uruguayan", "Uruguayans", "Montevideo"),
    "Uzbekistan": ("Uzbek", "Uzbeks", "Tashkent"),
    "Vatican City": ("Vatican", "Holy See"),
    "Venezuela": ("Venezuelan", "Venezuelans", "Caracas"),
    "Vietnam": ("Viet Nam", "Vietnamese", "Hanoi"),
    "Yemen": ("Yemeni", "Yemenis", "Sanaa"),
    "Zambia": ("Zambian", "Zambians", "Lusaka"),
    "Zimbabwe": ("Zimbabwean", "Zimbabweans", "Harare"),
}

# Phrases that contain a country's name or demonym but are about something else. They are
# matched like any term, so the words they cover cannot tag a country, and then dropped.
_NOT_A_COUNTRY = (
    "South America",
    "South American",
    "South Americans",
    "North America",
    "North American",
    "North Americans",
    "Latin America",
    "Latin American",
    "Latin Americans",
    "Central America",
    "Central American",
    "Central Americans",
    "Pan-American",
    "Pan American",
    "American Indian",
    "American Indians",
    "Native American",
    "Native Americans",
    "Indian Ocean",
    "Indian summer",
    "West Indian",
    "West Indies",
    "New Mexico",
    "New England",
    "Gulf of Mexico",
    "New Jersey",
    "Jersey City",
    "New South Wales",
    "British Columbia",
    "New Guinea",
    "Congo",
    "Congo River",
    "Korean Peninsula",
    "Korean War",
    "Guinea pig",
    "Guinea pigs",
    "Turkish delight",
    "French fries",
    "French toast",
    "French horn",
    "Dutch oven",
    "Swiss cheese",
    "Swiss army knife",
    "Swiss Army knife",
    "Chinese checkers",
    "Russian roulette",
    "South China Sea",
    "East China Sea",
    "Arabian Sea",
    "Persian Gulf",
    "Virgin Islands",
)


def _natural_names(country) -> list[str]:
    """pycountry's names for a country that read as running text, not as a list entry."""
    names = []
    for attribute in ("name", "common_name", "official_name"):
        name = getattr(country, attribute, None)
        if name and "," not in name and "(" not in name:
            names.append(name.removeprefix("the "))
    return names


def _build_tables() -> tuple[tuple[str, ...], Mapping[str, str | None], Mapping[str, str]]:
    countries = [c for c in pycountry.countries if c.alpha_2 not in _NOT_COUNTRIES]
    display_names = {
        c.alpha_2: _DISPLAY_NAMES.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
        for c in countries
    }
    # A pycountry name that two countries share names neither of them.
    candidates: dict[str, set[str]] = {}
    for country in countries:
        for name in _natural_names(country):
            candidates.setdefault(name, set()).add(display_names[country.alpha_2])
    country_for_term: dict[str, str | None] = {
        term: owners.pop() for term, owners in candidates.items() if len(owners) == 1
    }
    for display_name in display_names.values():
        country_for_term[display_name] = display_name
    for display_name, aliases in _ALIASES.items():
        for alias in aliases:
            country_for_term[alias] = display_name
    for phrase in _NOT_A_COUNTRY:
        country_for_term[phrase] = None
    for term in [t for t in country_for_term if t.startswith("Saint ")]:
        for short_form in ("St. ", "St "):
            country_for_term.setdefault(
                short_form + term.removeprefix("Saint "), country_for_term[term]
            )
    # Stories use straight and curly apostrophes alike.
    for term in [t for t in country_for_term if "'" in t]:
        country_for_term.setdefault(term.replace("'", "’"), country_for_term[term])
    codes = MappingProxyType({name: code for code, name in display_names.items()})
    return tuple(sorted(display_names.values())), MappingProxyType(country_for_term), codes


# Every display name, sorted; every term the scan looks for, with the display name it tags
# (None for look-alike phrases); and each display name's ISO 3166-1 alpha-2 code (the API
# gives country tags as places with their code).
COUNTRY_NAMES, COUNTRY_FOR_TERM, COUNTRY_CODES = _build_tables()

# Whole words only, judged by hand because \b would count "_" as part of a word and could not
# end a match after the final dot of "U.S.".
_WORD_EDGE_BEFORE_PREVIOUS = r"(?<![^\W_].)"  # a word edge before the character just matched
_WORD_EDGE_AFTER = r"(?![^\W_])"


def _trie_pattern(node: dict) -> str:
    """Alternation of the terms stored in a character trie, longest match first.

    A plain alternation sorted longest first means the same, but Python's regex engine would
    try every term at every position; sharing prefixes makes the scan over ten times faster.
    """
    branches = [re.escape(char) + _trie_pattern(child) for char, child in node.items() if char]
    if "" in node:
        # Ending here is tried after every longer term, which is what makes the longest win.
        branches.append(_WORD_EDGE_AFTER)
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def _terms_pattern(terms) -> str:
    trie: dict = {}
    for term in terms:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}
    # Most positions cannot start a term. When every branch opens with a plain character, the
    # regex engine skips to the next position holding one of them in a fast C loop; any other
    # opening (a lookahead, the word-edge lookbehind) makes it try every position, which
    # scanned a 47 MB briefing at less than half the speed. So the word edge before a term is
    # checked once its first character has matched, by looking back past that character.
    branches = [
        re.escape(char) + _WORD_EDGE_BEFORE_PREVIOUS + _trie_pattern(child)
        for char, child in sorted(trie.items())
    ]
    return "(?:" + "|".join(branches) + ")"


_TERMS = re.compile(_terms_pattern(COUNTRY_FOR_TERM))


def find_countries(text: str) -> list[str]:
    """Newsroom names of the countries/territories the text mentions, in order of first mention,
    no duplicates."""
    found = (COUNTRY_FOR_TERM[match.group()] for match in _TERMS.finditer(text))
    return list(dict.fromkeys(country for country in found if country))
