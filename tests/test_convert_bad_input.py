"""Every raw file gives a good record or a clear problem naming the file."""

from __future__ import annotations

import os
import threading
import tracemalloc
from pathlib import Path

import pytest

from newscorpus import convert as convert_module
from newscorpus.convert import MAX_RAW_BYTES, convert_bytes, convert_path
from newscorpus.jsonio import dumps, dumps_line
from recordcheck import assert_well_formed

SEEDS = Path(__file__).resolve().parents[1] / "corpus" / "raw"
SPACEWAR = (SEEDS / "000_aa6e04d9d268f344.txt").read_bytes()
MOSCOWTIMES = (SEEDS / "004_1e425f2c2345ce0e.txt").read_bytes()
SHORT = (
    "Kremlin rejects claims\n\nBy Reuters\n\nOctober 5, 2023\n\n"
    "The Kremlin on Thursday rejected the claims as \u201cabsurd\u201d.\n\n"
    "Officials said no talks were planned.\n"
)


def _codes(problems) -> list[str]:
    return [p.code for p in problems]


def _without_sha(record: dict) -> dict:
    """The record less what depends on the raw bytes themselves (the id without a manifest is their hash)."""
    return {**record, "id": None, "provenance": {**record["provenance"], "sha256": None}}


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("data", [b"", b"   \n\t\n\r\n  ", b"\n" * 50], ids=["empty", "whitespace", "newlines"])
def test_raw_empty(tmp_path, data):
    record, problems = convert_path(_write(tmp_path, "raw-empty.txt", data), file="raw/raw-empty.txt")
    assert record is None
    assert _codes(problems) == ["raw-empty"]
    assert problems[0].file == "raw/raw-empty.txt" and problems[0].severity == "error"


@pytest.mark.parametrize("data", [
    SHORT.encode()[:40] + b"\x00" + SHORT.encode()[40:],
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    bytes(range(1, 32)) * 20 + b"text",
], ids=["nul-byte", "png", "control-bytes"])
def test_raw_binary(tmp_path, data):
    record, problems = convert_path(_write(tmp_path, "raw-binary.bin", data))
    assert record is None
    assert _codes(problems) == ["raw-binary"]
    assert problems[0].file.endswith("raw-binary.bin")


@pytest.mark.parametrize("at", [0, 1], ids=["even-offset", "odd-offset"])
def test_nul_byte_problem_names_its_line(tmp_path, at):
    """A stray NUL in UTF-8 text is binary data, not UTF-16: its pairs of ASCII bytes would decode as CJK."""
    raw = b"Headline\n\nfirst\nsecond " + b"x" * at + b"\x00 line\n" + SHORT.encode() * 3
    _, problems = convert_bytes(raw, file="x.txt")
    assert [(p.code, p.line) for p in problems] == [("raw-binary", 4)]


def test_cp1252_smart_quotes_are_decoded_not_mojibake():
    raw = SHORT.encode("cp1252")
    assert b"\x93absurd\x94" in raw
    record, problems = convert_bytes(raw, file="cp1252.txt")
    assert record is not None
    assert "\u201cabsurd\u201d" in record["body"]["text"]
    assert "â€" not in dumps(record)
    assert record["provenance"]["encoding"] == "cp1252"
    fallback = [p for p in problems if p.code == "raw-encoding-fallback"]
    assert len(fallback) == 1 and fallback[0].severity == "warning" and fallback[0].line == 7
    assert "cp1252" in fallback[0].message
    utf8, _ = convert_bytes(SHORT.encode(), file="cp1252.txt")
    assert _without_sha({**record, "provenance": {**record["provenance"], "encoding": "utf-8"}}) == _without_sha(utf8)


def test_latin1_accents_are_decoded():
    raw = "Café owners protest\n\nBy Reuters\n\nThe café owners of Orléans said they would close.\n".encode("latin-1")
    record, problems = convert_bytes(raw, file="latin1.txt")
    assert "The café owners of Orléans" in record["body"]["text"]
    assert "raw-encoding-fallback" in _codes(problems)


@pytest.mark.parametrize("raw, looks", [
    (("Путин провёл переговоры\n\n" + "Президент России провёл переговоры с лидером Северной Кореи. " * 5).encode("cp1251"), "cp1251"),
    ("Headline\n\nBody text.\n".encode("utf-16"), "UTF-16"),
    ((SHORT + "Café, naïve, “quoted”.\n").encode("utf-16-le"), "UTF-16 LE text without a byte order mark"),
    (SHORT.encode("utf-16-be"), "UTF-16 BE text without a byte order mark"),
    (SHORT.encode("utf-32-le"), "UTF-32 LE text without a byte order mark"),
    (SHORT.encode("utf-32-be"), "UTF-32 BE text without a byte order mark"),
], ids=["cp1251", "utf-16", "utf-16-le-no-bom", "utf-16-be-no-bom", "utf-32-le-no-bom", "utf-32-be-no-bom"])
def test_raw_undecodable_says_what_the_file_looks_like(raw, looks):
    record, problems = convert_bytes(raw, file="other.txt")
    assert record is None
    assert _codes(problems) == ["raw-undecodable"]
    assert looks in problems[0].message and "UTF-8" in problems[0].message


def test_utf8_bom_is_stripped_without_warning():
    plain, _ = convert_bytes(MOSCOWTIMES, file="mt.txt")
    record, problems = convert_bytes(b"\xef\xbb\xbf" + MOSCOWTIMES, file="mt.txt")
    assert problems == []
    assert record["provenance"]["encoding"] == "utf-8-sig"
    assert "\ufeff" not in dumps(record)
    assert _without_sha({**record, "provenance": {**record["provenance"], "encoding": "utf-8"}}) == _without_sha(plain)


@pytest.mark.parametrize("seed", [SPACEWAR, MOSCOWTIMES], ids=["spacewar", "moscowtimes"])
@pytest.mark.parametrize("line_end", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_crlf_and_lone_cr_give_the_same_record_as_lf(seed, line_end):
    lf, lf_problems = convert_bytes(seed, file="seed.txt")
    other, other_problems = convert_bytes(seed.replace(b"\n", line_end), file="seed.txt")
    assert other is not None and lf is not None
    assert _without_sha(other) == _without_sha(lf)
    assert other_problems == lf_problems
    assert "\r" not in dumps(other)


def test_a_50_mb_file_is_rejected_without_being_read(tmp_path):
    path = tmp_path / "raw-too-large.txt"
    with open(path, "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: no disk used
    tracemalloc.start()
    try:
        record, problems = convert_path(path, file="raw-too-large.txt")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert record is None
    assert _codes(problems) == ["raw-too-large"]
    assert problems[0].file == "raw-too-large.txt"
    assert peak < 1024 * 1024


def test_a_large_stream_is_read_only_up_to_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(convert_module, "MAX_RAW_BYTES", 1000)
    fifo = tmp_path / "stream.txt"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as handle:
            handle.write(b"x" * 5000)

    writer = threading.Thread(target=feed)
    writer.start()
    record, problems = convert_module.convert_path(fifo)
    writer.join()
    assert record is None
    assert _codes(problems) == ["raw-too-large"]


def test_too_many_bytes_in_memory_are_rejected():
    record, problems = convert_bytes(b"a" * (MAX_RAW_BYTES + 1), file="big.txt")
    assert record is None and _codes(problems) == ["raw-too-large"]


def test_unknown_layout_uses_the_generic_parser_and_warns(tmp_path):
    path = _write(tmp_path, "layout-unknown.txt", SHORT.encode())
    record, problems = convert_path(path, file="raw/layout-unknown.txt")
    assert record is not None
    assert_well_formed(record)
    assert record["provenance"]["layout"] == "generic"
    unknown = [p for p in problems if p.code == "layout-unknown"]
    assert len(unknown) == 1 and unknown[0].severity == "warning"
    assert unknown[0].file == "raw/layout-unknown.txt" and "raw/layout-unknown.txt" in unknown[0].message


def test_headline_missing(tmp_path):
    data = (
        "A powerful storm hit the coast on Monday, cutting power to thousands of homes and forcing schools to close. "
        "Rescue teams were sent to several towns.\n\nOfficials said repairs would take days.\n"
    ).encode()
    record, problems = convert_path(_write(tmp_path, "headline-missing.txt", data), file="headline-missing.txt")
    assert record is None
    missing = [p for p in problems if p.code == "headline-missing"]
    assert len(missing) == 1 and missing[0].severity == "error"
    assert missing[0].file == "headline-missing.txt" and missing[0].line == 1


def test_body_empty():
    data = b"Kremlin rejects claims\n\nBy Reuters\n\nRelated article: <u>Other story</u>\n\nOriginal url:\nhttps://example.com/a\n"
    record, problems = convert_bytes(data, file="body-empty.txt")
    assert record is None
    assert "body-empty" in _codes(problems)


def test_control_characters_are_removed_and_recorded():
    data = SHORT.replace("rejected the claims", "rejected\x07 the\x1b claims").encode()
    record, problems = convert_bytes(data, file="controls.txt")
    assert "rejected the claims" in record["body"]["text"]
    assert {"kind": "control-characters", "line": 7, "chars": 2} in record["provenance"]["removed"]
    warning = [p for p in problems if p.code == "raw-control-characters"]
    assert len(warning) == 1 and warning[0].line == 7 and warning[0].severity == "warning"


def test_separators_between_words_become_spaces():
    data = SHORT.replace("Officials said", "Officials\x0csaid\u2028no\u2029talks\x85were\x0bplanned,").encode()
    record, problems = convert_bytes(data, file="separators.txt")
    assert "Officials said no talks were planned, no talks were planned." in record["body"]["text"]
    assert {"kind": "control-characters", "line": 9, "chars": 5} in record["provenance"]["removed"]
    assert "raw-control-characters" in _codes(problems)
    assert len(dumps_line(record).splitlines()) == 1  # one JSON Lines line stays one line


def test_tabs_and_runs_of_spaces_become_one_space():
    record, _ = convert_bytes(SHORT.replace("Officials said", "Officials\t\tsaid  ").encode(), file="tabs.txt")
    assert "Officials said no talks were planned." in record["body"]["text"]


def test_text_is_nfc_normalised():
    decomposed = SHORT.replace("The Kremlin", "The Cafe\u0301 Kremlin")
    record, _ = convert_bytes(decomposed.encode(), file="nfd.txt")
    assert "The Caf\u00e9 Kremlin" in record["body"]["text"]


def test_astral_characters_keep_code_point_offsets():
    text = SHORT.replace("Officials said", "Officials 😀 said 👨🏻‍🚒 that")
    record, _ = convert_bytes(text.encode(), file="emoji.txt")
    assert_well_formed(record)
    last = record["body"]["paragraphs"][-1]
    assert record["body"]["text"][last["start"]:last["end"]] == "Officials 😀 said 👨🏻‍🚒 that no talks were planned."


def test_manifest_layout_forces_a_parser():
    record, problems = convert_bytes(SPACEWAR, file="sw.txt", entry={"layout": "generic"})
    assert record["provenance"]["layout"] == "generic"
    assert "layout-unknown" not in _codes(problems)


def test_manifest_layout_that_does_not_exist():
    record, problems = convert_bytes(SPACEWAR, file="sw.txt", entry={"layout": "nytimes"})
    assert record is None
    assert _codes(problems) == ["layout-invalid"]
    assert "spacewar" in problems[0].message


def test_manifest_sha256_that_does_not_match_the_bytes():
    record, problems = convert_bytes(SPACEWAR, file="sw.txt", entry={"sha256": "0" * 64})
    assert record is not None
    assert _codes(problems) == ["raw-sha-mismatch"]


@pytest.mark.parametrize("path_kind", ["missing", "directory"])
def test_file_unreadable(tmp_path, path_kind):
    path = tmp_path / "raw"
    if path_kind == "directory":
        path.mkdir()
    record, problems = convert_path(path, file="raw")
    assert record is None and _codes(problems) == ["file-unreadable"]


def test_unreadable_printed_url_is_reported():
    data = SHORT + "\nOriginal url:\n\nnot a url at all\n"
    record, problems = convert_bytes(data.encode(), file="url.txt")
    assert record["uri"] is None
    assert "url-unreadable" in _codes(problems)


def test_date_that_is_not_a_real_date_is_reported():
    data = SPACEWAR.replace(b"Seoul (AFP) Oct 19, 2023", b"Seoul (AFP) Feb 30, 2023")
    record, problems = convert_bytes(data, file="sw.txt")
    assert record["dateline"] == {"text": "Seoul (AFP) Feb 30, 2023", "located": "Seoul", "agency": "AFP", "date": None}
    assert record["datePublished"] is None
    unparsed = [p for p in problems if p.code == "date-unparsed"]
    assert len(unparsed) == 1 and unparsed[0].line == 6


def test_more_captions_than_a_record_holds_are_kept_in_the_body():
    caption = "Officials at the site. **Photo Agency**\n\n"
    data = "Storm batters coast\n\nBy Reuters\n\n" + "A storm hit the coast.\n\n" + caption * 105
    record, problems = convert_bytes(data.encode(), file="captions.txt")
    assert record is not None
    assert len(record["captions"]) == 100
    assert record["body"]["text"].count("Officials at the site. Photo Agency") == 5
    assert [(p.code, p.line) for p in problems if p.code == "layout-unexpected"] == [("layout-unexpected", 7 + 2 * 100)]


def test_a_headline_over_a_dateline_alone_is_not_a_space_media_network_page():
    data = b"Kim meets Lavrov\nSeoul (AFP) Oct 19, 2023\n\nKim met Lavrov on Thursday.\n"
    record, problems = convert_bytes(data, file="plain.txt")
    assert record["provenance"]["layout"] == "generic"
    assert record["dateline"]["agency"] == "AFP"
    assert "layout-unknown" in _codes(problems)
    forced, _ = convert_bytes(data, file="plain.txt", entry={"layout": "spacewar"})
    assert forced["provenance"]["layout"] == "spacewar" and forced["dateline"] == record["dateline"]


def test_moscow_times_page_chrome_above_the_headline_is_a_site_banner():
    chrome = "Support The Moscow Times!\nContribute today\nMy account\nSignout\n×\nSections\nHome\nUkraine War\nNews\n\n"
    plain, _ = convert_bytes(MOSCOWTIMES, file="mt.txt")
    record, problems = convert_bytes(chrome.encode() + MOSCOWTIMES, file="mt.txt")
    assert problems == []
    assert record["headlines"] == plain["headlines"] and record["body"] == plain["body"]
    assert [item["line"] for item in record["provenance"]["removed"] if item["kind"] == "site-banner"] == list(range(1, 10))


def test_dateline_agency_with_a_space():
    data = SPACEWAR.replace(b"Seoul (AFP) Oct 19, 2023", b"Uglegorsk, Russia (RIA Novosti) Apr 24, 2014")
    record, _ = convert_bytes(data, file="sw.txt")
    assert record["dateline"] == {"text": "Uglegorsk, Russia (RIA Novosti) Apr 24, 2014", "located": "Uglegorsk, Russia",
                                  "agency": "RIA Novosti", "date": "2014-04-24"}
    assert record["infoSources"][0] == {"name": "RIA Novosti", "role": "wire"}
