"""Who said what: quotations and reported speech, with the speaker's role and employer.

News attributes in a few fixed shapes, and these rules read them:

- "“…,” said James Cook, investment director at Federated Hermes."  (verb, then name)
- "Kinger Lau said the rally makes sense."  /  "“…,” Cook explained."  (name, then verb)
- "Goldman Sachs Research Chief China Equity Strategist Kinger Lau said …"  (title first)
- "…, according to Goldman Sachs."  /  "“…,” he added."  (the last person named)

A surname alone ("Cook") is the person named in full earlier in the article, with the
role and employer given there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.annotate.names import INDEX, NAME, clean_name, is_org, is_role_word
from ingest.sentences import split_sentences

# Verbs of speech; a name after "told" is who listened ("told CNN"), so it is left out of
# the verbs a speaker's name may follow.
_VERBS_BEFORE_NAME = (
    r"said|says|say|added|noted|notes|explained|explains|warned|warns|"
    r"wrote|writes|argued|argues|commented|stated|predicted|predicts|cautioned|insisted"
)
_VERBS = (
    r"said|says|say|told|tells|added|noted|notes|explained|explains|warned|warns|"
    r"wrote|writes|argued|argues|commented|stated|predicted|predicts|cautioned|insisted|"
    r"believes|believed|expects|expected|estimated|estimates|cited"
)
_QUOTED = re.compile(r"[“\"]([^”\"]{2,}?)[”\"]")
_MARK = "qqq"  # what a quotation becomes while the words around it are read
_NAME = NAME.pattern
_VERB_THEN_NAME = re.compile(
    rf"\b(?:{_VERBS_BEFORE_NAME})\s+(?P<name>{_NAME})(?:,\s*(?P<role>[^;:]{{3,160}}?))?\s*[.;]?\s*$"
)
_NAME_THEN_VERB = re.compile(
    rf"(?P<name>{_NAME})(?:\s*\([^()]{{1,24}}\))?(?:,\s*(?P<role>[^,;]{{3,120}}?),)?\s+"
    rf"(?:also\s+|later\s+|has\s+|had\s+|previously\s+)?(?P<verb>{_VERBS})\b(?P<rest>.*)$"
)
_ACCORDING_TO = re.compile(r"\baccording to (?P<phrase>[^,;]+)")
_PRONOUN = re.compile(rf"^(?P<lead>.*?)\b(?:he|she)\s+(?:also\s+)?(?:{_VERBS})\b", re.I)
_EMPLOYER = re.compile(r"\s(?:at|with|for|of|from)\s")
_MIN_QUOTED_WORDS = 3
_MAX_UNIT_CHARS = 2_000  # longer "sentences" are tables or lists, not attributed speech
# Words that end a title written before a name ("and analyst Jane Doe": "analyst").
_FUNCTION_WORDS = frozenset("a an the and or but in of on at to by for with as said says".split())  # noqa: SIM905


@dataclass(frozen=True)
class Speaker:
    name: str
    role: str = ""
    org: str = ""
    person: bool = True


@dataclass(frozen=True)
class Quote:
    """One attributed statement: `words` are the quoted words (or the reported clause),
    `sentence` the text they stand in, as the article writes it."""

    speaker: str
    role: str
    org: str
    words: str
    sentence: str


def find_quotes(text: str) -> list[Quote]:
    """Every attributed statement of an article, in reading order."""
    people = _full_names(text)  # surname (and full name): the person named in full
    last: Speaker | None = None
    quotes: list[Quote] = []
    for unit in _units(text):
        if len(unit) > _MAX_UNIT_CHARS:
            continue
        masked = _QUOTED.sub(_MARK, unit)
        quoted = [q for q in _QUOTED.findall(unit) if len(q.split()) >= _MIN_QUOTED_WORDS]
        found = _attribution(masked, last)
        if found is None:
            continue
        speaker, reported = found
        speaker = _resolve(speaker, people)
        words = " … ".join(q.strip(" ,.") for q in quoted) or reported
        if len(words.split()) < _MIN_QUOTED_WORDS:
            continue
        quotes.append(Quote(speaker.name, speaker.role, speaker.org, words, unit))
        if speaker.person:
            last = speaker
    return quotes


def _full_names(text: str) -> dict[str, Speaker]:
    """Everyone the article names in full, by surname: "Okafor said" is Nadia Okafor."""
    people: dict[str, Speaker] = {}
    names = (raw for sentence in split_sentences(text) for raw in NAME.findall(sentence))
    for raw in names:
        name = clean_name(raw)
        words = name.split()
        if 2 <= len(words) <= 3 and not is_org(name) and not any(map(is_role_word, words)):
            people.setdefault(words[-1], Speaker(name))
    return people


def _units(text: str) -> Iterator[str]:
    """Sentences, joined where a quotation runs over several of them."""
    for paragraph in text.split("\n"):
        pending: list[str] = []
        for sentence in split_sentences(paragraph):
            pending.append(sentence)
            joined = " ".join(pending)
            opened = joined.count("“") > joined.count("”") or joined.count('"') % 2 == 1
            if not opened or len(joined) > _MAX_UNIT_CHARS:  # a quote left open: give up
                yield joined
                pending = []
        if pending:
            yield " ".join(pending)


def _attribution(masked: str, last: Speaker | None) -> tuple[Speaker, str] | None:
    """The speaker of a sentence (its quotations masked), and what it reports them saying."""
    match = _VERB_THEN_NAME.search(masked)
    if match:
        speaker = _speaker(match.group("name"), match.group("role") or "")
        if speaker:
            return speaker, _clause(masked[: match.start()])
    for match in _NAME_THEN_VERB.finditer(masked):
        speaker = _speaker(match.group("name"), match.group("role") or "")
        reported = _clause(re.sub(r"^\s*(?:that\s+)?", "", match.group("rest")))
        # "The DAX added 0.2%": a figure moved, nobody spoke.
        if speaker and not INDEX.fullmatch(speaker.name) and not reported[:1].isdigit():
            before = masked[: match.start()]
            return _person_of(speaker, before) or _with_title_before(speaker, before), reported
    match = _ACCORDING_TO.search(masked)
    if match:
        names = [clean_name(n) for n in NAME.findall(match.group("phrase"))]
        names = [n for n in names if n]
        if names:
            speaker = _speaker(names[-1], "")
            if speaker:
                return speaker, _clause(masked[: match.start()])
    match = _PRONOUN.search(masked)
    if match and last is not None:
        return last, _clause(masked[match.end() :])
    return None


def _speaker(raw: str, appositive: str) -> Speaker | None:
    """A speaker from a matched name and what follows it ("investment director at X")."""
    name = clean_name(raw)
    if not name or name == _MARK:
        return None
    words = name.split()
    roles = [i for i, word in enumerate(words) if is_role_word(word)]
    role, org = "", ""
    if roles and roles[-1] < len(words) - 1 and words[roles[-1] + 1][0].isupper():
        # "Goldman Sachs Research Chief China Equity Strategist Kinger Lau"
        org = " ".join(words[: roles[0]])
        role = " ".join(words[roles[0] : roles[-1] + 1])
        name = " ".join(words[roles[-1] + 1 :])
    if appositive:
        role, org = _role_and_employer(appositive.strip(" ,.")) if not role else (role, org)
    if is_org(name):
        return Speaker(name, "", "", person=False)
    if len(name.split()) > 4:
        return None
    return Speaker(name, role, org)


_PERSON_OF = re.compile(
    rf"(?P<person>{_NAME})\s+(?:of|at|from|with)\s+(?:the\s+)?(?:[a-z][\w\-]*\s+){{0,3}}$"
)


def _person_of(speaker: Speaker, before: str) -> Speaker | None:
    """ "Tomasz Wren of the fictional Greywater Analytics said": Wren spoke, for the firm."""
    match = _PERSON_OF.search(before[-160:])
    if speaker.role or not match:
        return None
    person = _speaker(match.group("person"), "")
    if person is None or not person.person or len(person.name.split()) < 2:
        return None
    return Speaker(person.name, person.role, speaker.name)


_TITLE_BEFORE = re.compile(
    rf"(?:(?P<org>{_NAME})\s+)?(?P<role>(?:[a-z][\w\-]*\s+){{0,3}}[a-z][\w\-]*)\s*$"
)


def _with_title_before(speaker: Speaker, before: str) -> Speaker:
    """ "Goldman Sachs strategist Kinger Lau said": the title written before the name."""
    match = _TITLE_BEFORE.search(before[-160:])
    if not speaker.person or speaker.role or not match:
        return speaker
    words = match.group("role").split()
    if not is_role_word(words[-1]):
        return speaker
    cut = max((i + 1 for i, word in enumerate(words) if word in _FUNCTION_WORDS), default=0)
    words = words[cut:]
    if not words:
        return speaker
    org = clean_name(match.group("org") or "")
    if org and all(is_role_word(word) for word in org.split()):  # "Lead analyst"
        words, org = [*org.split(), *words], ""
    return Speaker(speaker.name, " ".join(words), speaker.org or org)


def _role_and_employer(text: str) -> tuple[str, str]:
    """ "investment director of emerging markets at the asset manager Federated Hermes"
    -> ("investment director of emerging markets", "Federated Hermes")."""
    if not any(is_role_word(word) for word in text.split()):
        return "", ""
    text = re.sub(r"^(?:a|an|the)\s+", "", text)
    for match in reversed(list(_EMPLOYER.finditer(text))):
        names = [clean_name(n) for n in NAME.findall(text[match.end() :])]
        names = [n for n in names if n]
        if names:
            return text[: match.start()].strip(), names[-1]
    return text, ""


def _clause(text: str) -> str:
    return re.sub(rf"\s*{_MARK}\s*", " ", text).strip(" ,.;:—-")


def _resolve(speaker: Speaker, people: dict[str, Speaker]) -> Speaker:
    """A surname alone is the person named in full before; a full name is noted."""
    if not speaker.person:
        return speaker
    parts = speaker.name.split()
    if len(parts) == 1 and parts[0] in people:
        known = people[parts[0]]
        return Speaker(known.name, speaker.role or known.role, speaker.org or known.org)
    if len(parts) > 1:
        before = people.get(speaker.name, Speaker(speaker.name))
        merged = Speaker(speaker.name, speaker.role or before.role, speaker.org or before.org)
        people[parts[-1]] = people[speaker.name] = merged
        return merged
    return speaker
