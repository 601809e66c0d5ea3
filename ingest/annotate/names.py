"""Proper names in news text, and the one key each name is known by.

"Alibaba", "Alibaba Group" and "Alibaba Group Holding Ltd" are one company: `entity_key`
strips what companies add to their names, so the three share the key "alibaba". A
ticker is its own key ("9988.hk"); the article that writes "Alibaba (9988.HK)" links it.
"""

from __future__ import annotations

import re

# A capitalised word: "Sachs", "U.S.", "S&P", "Kwan-yuen", "McDonald’s".
_WORD = r"[A-Z][\w&'’.\-]*"
# Words in a row that name one thing: "Institute of International Finance". At most
# twelve (a title and a name: "Goldman Sachs Research Chief China Equity Strategist
# Kinger Lau"): unbounded runs made the rules quadratic on all-capitals text.
_JOINER = r"(?:of|&|de|van|von|der|da|del|bin|al|y)"
NAME = re.compile(rf"\b{_WORD}(?:\s+(?:{_JOINER}\s+)?{_WORD}){{0,11}}")
TICKER = re.compile(
    r"\b(?:\d{3,6}\.(?:HK|SS|SZ|T|KS|TW)|[A-Z]{1,5}\.(?:N|O|OQ|L|HK|PA|DE|AS|MI|TO|AX|SI))\b"
    r"|(?<=\()(?:NYSE|Nasdaq|NASDAQ|LSE|HKEX|TSX|ASX)\s*:\s*[A-Z0-9.]{1,8}(?=\))"
)
# Stock indices, matched whole: their names mix words and numbers ("CSI 300").
INDEX = re.compile(
    r"\b(?:Hang Seng(?: China Enterprises| Tech)?(?: Index)?|S&P 500|S&P/ASX 200|ASX 200"
    r"|Nasdaq(?: Composite| 100)?|Dow Jones(?: Industrial Average)?|Nikkei(?: 225)?|Topix"
    r"|KOSPI|Kospi|CSI 300|Shanghai Composite|Shenzhen Component|DAX|FTSE 100|CAC 40"
    r"|(?:Euro )?Stoxx(?: Europe)? (?:600|50)|Sensex|Nifty(?: 50)?|Russell 2000"
    r"|Straits Times Index|Taiex|MSCI (?:World|Asia[- ]Pacific|Emerging Markets|China))\b"
)
# Words that make a name an organisation's.
ORG_WORDS = frozenset(
    """bank banks banking securities capital group holdings holding research institute
    fund funds management partners investments investment advisors advisers associates
    economics insights asset assets markets exchange council commission ministry agency
    office bureau reserve authority university corp corporation inc ltd plc llc co company
    companies trust insurance financial finance services ventures labs technologies
    motors chemicals robotics semiconductors electronics energy resources airlines analytics
    advisory commodities metals wealth mining
    federal central government parliament congress treasury department board""".split()  # noqa: SIM905
)
# Firms every market reader knows by a bare name that says nothing of being a firm.
KNOWN_ORGS = frozenset(
    name.strip()  # of the line ends and indents between them
    for name in """
    goldman sachs|morgan stanley|jpmorgan|j.p. morgan|citi|citigroup|citibank|ubs|hsbc
    |barclays|nomura|bnp paribas|societe generale|deutsche bank|credit suisse|jefferies
    |bofa|bank of america|wells fargo|blackrock|vanguard|pimco|fidelity|morningstar
    |bloomberg|reuters|moody's|fitch|standard chartered|macquarie|mizuho|daiwa|cicc
    |huatai securities|citic securities|federated hermes|capital economics|opec
    |imf|world bank|fed|ecb|pboc|boj|rba|rbi|boe""".split("|")  # noqa: SIM905
)
# Job titles: what separates "Legislative Council President" from "Andrew Leung".
ROLE_WORDS = frozenset(
    """chief strategist strategists economist economists analyst analysts director president
    ceo cfo cio coo cto chairman chairwoman chair head officer manager governor minister
    secretary partner founder co-founder spokesperson spokesman spokeswoman executive
    trader adviser advisor professor commissioner treasurer senator lawmaker deputy vice
    senior managing principal lead""".split()  # noqa: SIM905
)
# Capitalised for being first in a sentence, or naming a time or a people, not a thing.
NOT_NAMES = frozenset(
    """a an the this that these those it its he she they we i you his her their our but and
    or so yet if as at by for from in into of on to with without after before since while
    when where what who why how also still even just only then there here however meanwhile
    although though because despite overall analysts investors shares stocks markets
    monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december read more also
    chinese american european japanese british german french indian korean asian us uk eu
    mr mrs ms dr policymakers officials economists traders executives people experts
    sources strategists researchers bankers brokers dealers some many most both several
    few all others aides critics residents witnesses""".split()  # noqa: SIM905
)
_SUFFIXES = frozenset(
    """group holding holdings inc inc. corp corp. corporation co co. ltd ltd. limited plc llc
    sa ag nv se ab asa spa index""".split()  # noqa: SIM905
)
_POSSESSIVE = re.compile(r"['’]s$")
_KEEPS_FULL_STOP = re.compile(r"(?:[A-Z]\.)+|(?:Inc|Co|Corp|Ltd)\.")  # "U.S.", "Inc."
_GENERIC = ORG_WORDS | NOT_NAMES | {"central"}  # words that name nothing on their own
_DESCRIPTOR = re.compile(r"-(?:based|listed|owned|backed|born|run)$")  # "US-based"


def clean_name(raw: str) -> str:
    """A matched name without what clings to it: leading sentence words ("The",
    "On Friday"), a possessive, a full stop that ends the sentence."""
    words = raw.split()
    while words and (words[0].lower().strip(".,") in NOT_NAMES or _DESCRIPTOR.search(words[0])):
        words.pop(0)
    if not words:
        return ""
    last = words[-1]
    if last.endswith(".") and not _KEEPS_FULL_STOP.fullmatch(last):
        last = last[:-1]
    words[-1] = _POSSESSIVE.sub("", last)
    # A thing's name has a word of its own: "Banks" or "Central Bank" alone is not one.
    if all(w.lower().strip(".") in _GENERIC for w in words):
        return ""
    return " ".join(w for w in words if w)


def entity_key(name: str) -> str:
    """The key a name is filed under: lowercase, without corporate suffixes or "the"."""
    name = name.strip()
    if TICKER.fullmatch(name) or TICKER.fullmatch(name.upper()):
        return name.lower()
    words = re.sub(r"[,()\"“”]", " ", _POSSESSIVE.sub("", name)).lower().split()
    if words and words[0] == "the":
        words.pop(0)
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return " ".join(words)


def is_org(name: str) -> bool:
    """Whether a name is an organisation's rather than a person's, by its words."""
    key = entity_key(name)
    if key in KNOWN_ORGS or INDEX.fullmatch(name):
        return True
    return any(word.strip(".") in ORG_WORDS for word in name.lower().split())


def is_role_word(word: str) -> bool:
    return word.lower().strip(",.") in ROLE_WORDS
