"""Bylines and the news agencies they credit.

``by AFP Staff Writers`` credits the agency AFP; ``By Jane Doe for UPI``
credits UPI; ``By The Moscow Times`` and ``by Staff Writers`` credit none.
"""

from __future__ import annotations

import re

#: News agencies as bylines and datelines credit them (ninjs infoSources with role "wire"),
#: each with the short name that identifies it.
AGENCIES: dict[str, str] = {
    "AAP": "AAP", "AFP": "AFP", "Agence France-Presse": "AFP", "Agence France Presse": "AFP",
    "ANI": "ANI", "ANSA": "ANSA", "AP": "AP", "Associated Press": "AP", "The Associated Press": "AP",
    "Anadolu": "Anadolu", "Bernama": "Bernama", "Bloomberg": "Bloomberg", "dpa": "dpa", "EFE": "EFE",
    "IANS": "IANS", "Indo-Asian News Service": "IANS", "Interfax": "Interfax", "Kyodo": "Kyodo",
    "PTI": "PTI", "Reuters": "Reuters", "RIA Novosti": "RIA Novosti", "SPX": "SPX", "TASS": "TASS",
    "UPI": "UPI", "United Press International": "UPI", "WAM": "WAM", "XNA": "Xinhua", "Xinhua": "Xinhua",
    "Yonhap": "Yonhap",
}
_BY_CASEFOLD = {name.casefold(): short for name, short in AGENCIES.items() if len(name) > 3}
_BYLINE = re.compile(r"^by\s+(?P<by>\S.*)$", re.IGNORECASE)
_STAFF = re.compile(r"\b(?:staff(?:\s+writers?|\s+reporters?)?|correspondents?|wires?|reporters?)\b\.?", re.IGNORECASE)
_CREDIT_SPLIT = re.compile(r"\s*(?:,|;|&|/|\||\(|\)|\band\b|\bwith\b|\bfor\b|\bin\b|\bvia\b|\bfrom\b)\s*", re.IGNORECASE)


def is_agency(name: str) -> bool:
    """Whether ``name`` is a news agency newscorpus knows.

    >>> is_agency("AFP"), is_agency("Reuters"), is_agency("pictured")
    (True, True, False)
    """
    return agency_key(name) is not None


def agency_key(name: str) -> str | None:
    """The short name identifying the agency ``name`` (``Associated Press`` -> ``AP``), or None.

    >>> agency_key("Agence France-Presse"), agency_key("XNA"), agency_key("Jane")
    ('AFP', 'Xinhua', None)
    """
    return AGENCIES.get(name) or _BY_CASEFOLD.get(name.casefold())


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
    found: dict[str, str] = {}
    for part in _CREDIT_SPLIT.split(by):
        name = _STAFF.sub("", part).strip(" .")
        key = agency_key(name) if name else None
        if key is not None and key not in found:
            found[key] = name
    return list(found.values())
