"""The qbXML schema check itself: Intuit's good samples pass, the bad ones fail with the documented errors."""

from __future__ import annotations

import pytest
from connex_quickbooks_desktop.validation import QbxmlValidator, default_xsd_dir

from .conftest import REFERENCE

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


@pytest.mark.parametrize("path", sorted((SAMPLES / "good").glob("*.xml")), ids=lambda p: p.name)
def test_good_samples_validate(validator, path):
    assert validator.validate(path.read_bytes()) == []


@pytest.mark.parametrize("path", sorted((SAMPLES / "bad").glob("*.xml")), ids=lambda p: p.name)
def test_bad_samples_are_rejected_with_the_documented_error(validator, path):
    problems = validator.validate(path.read_bytes())
    assert problems, f"{path.name} should not validate"
    assert EXPECTED_BAD[path.name] in str(problems[0])
    assert problems[0].line > 0


def test_every_bad_sample_has_an_expectation():
    assert {p.name for p in (SAMPLES / "bad").glob("*.xml")} == set(EXPECTED_BAD)


def test_unsafe_xml_is_a_problem_not_a_crash(validator):
    bomb = b'<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY a "aaaa">]><QBXML>&a;</QBXML>'
    assert "DOCTYPE" in str(validator.validate(bomb)[0])


def test_schema_folder_is_found_and_a_missing_one_is_reported(tmp_path):
    assert default_xsd_dir() is not None
    with pytest.raises(FileNotFoundError):
        QbxmlValidator(tmp_path)
