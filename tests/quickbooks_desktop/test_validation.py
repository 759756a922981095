"""The qbXML schema check itself: Intuit's good samples pass, the bad ones fail with the documented errors.

The samples and the schemas are reference files that cannot ship (docs/reference-data.md): without them these
tests skip, naming the file, and in CI they fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from connex_quickbooks_desktop.validation import (
    ENTRY_POINT,
    QbxmlValidator,
    _say_unchecked,
    default_xsd_dir,
    optional_validator,
)

from tests.conftest import REFERENCE, reference

from .conftest import QBXML_ENTRY_POINT

SAMPLES = REFERENCE / "qbxml-samples"
EXPECTED_BAD = {
    "bad_order.xml": "Element 'TxnDate': This element is not expected",
    "bad_cust_order.xml": "Element 'Phone': This element is not expected",
    "bad_name_len.xml": "maxLength",
    "bad_refnumber_len.xml": "maxLength",
    "bad_addr_len.xml": "maxLength",
    "bad_amount.xml": "'25.005' is not accepted",
    "bad_amount_1dp.xml": "'25.5' is not accepted",
    "bad_onerror.xml": "The attribute 'onError' is required but missing",
    "bad_nolines.xml": "Missing child element(s)",
    "issue74_bad.xml": "Element 'TxnDate': This element is not expected. Expected is ( VendorRef )",
    "jsg29_bad.xml": "Element 'SalesOrderLineAdd': This element is not expected",
}


def samples(kind: str) -> list[Path]:
    """The sample files of one kind; without the reference folder, the folder itself, so that the one test
    made from it skips (or fails in CI) naming what is missing instead of collecting nothing."""
    return sorted((SAMPLES / kind).glob("*.xml")) or [SAMPLES / kind]


@pytest.mark.parametrize("path", samples("good"), ids=lambda p: p.name)
def test_good_samples_validate(validator, path):
    reference(str(path.relative_to(REFERENCE)))
    assert validator.validate(path.read_bytes()) == []


@pytest.mark.parametrize("path", samples("bad"), ids=lambda p: p.name)
def test_bad_samples_are_rejected_with_the_documented_error(validator, path):
    reference(str(path.relative_to(REFERENCE)))
    problems = validator.validate(path.read_bytes())
    assert problems, f"{path.name} should not validate"
    assert EXPECTED_BAD[path.name] in str(problems[0])
    assert problems[0].line > 0


def test_every_bad_sample_has_an_expectation():
    reference("qbxml-samples/bad")
    assert {p.name for p in (SAMPLES / "bad").glob("*.xml")} == set(EXPECTED_BAD)


def test_unsafe_xml_is_a_problem_not_a_crash(validator):
    bomb = b'<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY a "aaaa">]><QBXML>&a;</QBXML>'
    assert "DOCTYPE" in str(validator.validate(bomb)[0])


def test_schema_folder_is_found_and_a_missing_one_is_reported(tmp_path):
    reference(QBXML_ENTRY_POINT)
    assert default_xsd_dir() is not None
    with pytest.raises(FileNotFoundError):
        QbxmlValidator(tmp_path)


def test_without_the_schemas_requests_go_unchecked_and_the_log_says_how_to_check_them(tmp_path, caplog):
    caplog.set_level("INFO", logger="connex_quickbooks_desktop.validation")
    _say_unchecked.cache_clear()
    assert optional_validator(tmp_path) is None
    assert f"{ENTRY_POINT} in {tmp_path}" in caplog.text
    assert "sent without a schema check" in caplog.text and "CONNEX_QBXML_XSD_DIR" in caplog.text
