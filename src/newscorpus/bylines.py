"""Bylines and the news agencies they credit.

``by AFP Staff Writers`` credits the agency AFP; ``By Jane Doe for UPI``
credits UPI; ``By The Moscow Times`` and ``by Staff Writers`` credit none.
"""

from __future__ import annotations

import re

#: News agencies as bylines and datelines credit them (ninjs infoSources with role "wire").
AGENCIES: tuple[str, ...] = (
    "AAP", "AFP", "Agence France-Presse", "ANI", "ANSA", "AP", "Associated Press", "Anadolu",
    "Bernama", "Bloomberg", "dpa", "EFE", "IANS", "Interfax", "Kyodo", "PTI", "Reuters",
    "RIA Novosti", "SPX", "TASS", "UPI", "United Press International", "WAM", "XNA", "Xinhua",
    "Yonhap",
)
_BY_CASEFOLD = {name.casefold(): name for name in AGENCIES if len(name) > 3}
_BYLINE = re.compile(r"^by\s+(?P<by>\S.*)$", re.IGNORECASE)
_STAFF = re.compile(r"\b(?:staff(?:\s+writers?|\s+reporters?)?|correspondents?|wires?|reporters?)\b\.?", re.IGNORECASE)
_CREDIT_SPLIT = re.compile(r"\s*(?:,|;|&|/|\||\(|\)|\band\b|\bwith\b|\bfor\b|\bin\b|\bvia\b|\bfrom\b)\s*", re.IGNORECASE)


def is_agency(name: str) -> bool:
    """Whether ``name`` is a news agency newscorpus knows.

    >>> is_agency("AFP"), is_agency("Reuters"), is_agency("pictured")
    (True, True, False)
    """
    return name in AGENCIES or name.casefold() in _BY_CASEFOLD


def parse_byline(line: str) -> str | None:
    """The byline without its leading "by", when ``line`` is a byline.

    >>> parse_byline("by AFP Staff Writers")
    'AFP Staff Writers'
    >>> parse_byline("Bystanders said so.") is None
    True
    """
    match = _BYLINE.match(line.strip())
    if not match or len(match["by"]) > 200:
        return None
    return match["by"].strip()


def credited_agencies(by: str | None) -> list[str]:
    """The agencies a byline credits, in the order printed.

    >>> credited_agencies("AFP Staff Writers"), credited_agencies("Jane Doe for UPI")
    (['AFP'], ['UPI'])
    >>> credited_agencies("Staff Writers"), credited_agencies("The Moscow Times")
    ([], [])
    """
    if not by:
        return []
    found: list[str] = []
    for part in _CREDIT_SPLIT.split(by):
        name = _STAFF.sub("", part).strip(" .")
        if name and is_agency(name) and name not in found:
            found.append(name)
    return found
