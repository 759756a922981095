"""The QuickBooks Online simulator's company profiles, over raw HTTP: what each company answers about tax, the
faults quickbooks-tax.md lists, and tax computed from the codes on the lines (so a wrong code shows)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from .tax_support import Raw


@pytest.fixture(params=["us", "uk", "ca", "au"])
def profile(request):
    return request.param


def company(name):
    sim = QuickBooksOnlineSimulator(company=name, enforce_limits=False)
    sim.start()
    return sim


@pytest.fixture
def sims():
    started = []

    def make(name):
        started.append(company(name))
        return started[-1], Raw(started[-1])

    yield make
    for sim in started:
        sim.stop()


def ids(sim):
    def code(name):
        return {"value": sim.entity("TaxCode", Name=name)["Id"]}

    def rate(name):
        return {"value": sim.entity("TaxRate", Name=name)["Id"]}

    return code, rate


def customer(sim, raw, currency):
    existing = sim.entity("Customer", DisplayName=f"Buyer {currency}")
    if existing:
        return {"value": existing["Id"]}
    answer = raw.post("customer", {"DisplayName": f"Buyer {currency}", "CurrencyRef": {"value": currency}})
    assert answer.status_code == 200, answer.text
    return {"value": answer.json()["Customer"]["Id"]}


def sale_line(sim, amount, qty=1, code=None, detail_type="SalesItemLineDetail", sku="MUG-BLU-01", **extra):
    item = sim.entity("Item", Sku=sku)
    detail = {"ItemRef": {"value": item["Id"]}, "Qty": qty, "UnitPrice": float(Decimal(str(amount)) / qty), **extra}
    if code:
        detail["TaxCodeRef"] = code
    return {"DetailType": detail_type, "Amount": amount, detail_type: detail}


def receipt(sim, raw, lines, currency, **fields):
    return {"CustomerRef": customer(sim, raw, currency), "CurrencyRef": {"value": currency}, "Line": lines, **fields}


def test_every_profile_answers_its_tax_set_up(sims, profile):
    sim, raw = sims(profile)
    info = raw.get(f"companyinfo/{sim.company.realm_id}")
    assert info.status_code == 200
    country = info.json()["CompanyInfo"]["Country"]
    assert country == {"us": "US", "uk": "GB", "ca": "CA", "au": "AU"}[profile]
    prefs = raw.query("SELECT * FROM Preferences")["Preferences"][0]
    assert prefs["TaxPrefs"]["UsingSalesTax"] is True
    assert prefs["TaxPrefs"]["PartnerTaxEnabled"] is (profile == "us")
    assert prefs["CurrencyPrefs"]["HomeCurrency"]["value"] == {"us": "USD", "uk": "GBP", "ca": "CAD",
                                                               "au": "AUD"}[profile]
    codes = {c["Name"] for c in raw.query("SELECT * FROM TaxCode")["TaxCode"]}
    rates = raw.query("SELECT * FROM TaxRate")["TaxRate"]
    agencies = raw.query("SELECT * FROM TaxAgency")["TaxAgency"]
    assert agencies and rates
    expected = {"uk": {"20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"}, "ca": {"GST", "HST ON", "GST/QST QC", "Z"},
                "au": {"GST", "GST-free"}, "us": {"California"}}[profile]
    assert expected <= codes
    # the US pseudo codes are not the company's own: a query never returns them (tax.md §1)
    assert not codes & {"TAX", "NON"}
    # codes are read-only (created through TaxService only, tax.md §2)
    assert raw.post("taxcode", {"Name": "Mine"}).status_code == 400
    # sales and purchase rates of one code have different Ids (tax.md §2, the real "20.0% S" row)
    if profile == "uk":
        standard = sim.entity("TaxCode", Name="20.0% S")
        sales = standard["SalesTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["value"]
        purchase = standard["PurchaseTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["value"]
        assert sales != purchase


@pytest.mark.parametrize("name, text", [
    ("uk", "Make sure all your transactions have a VAT rate before you save."),
    ("ca", "Make sure all your transactions have a GST/HST rate before you save."),
    ("au", "Make sure all your transactions have a GST rate before you save."),
])
def test_a_line_without_a_tax_code_is_refused_with_the_real_fault(sims, name, text):
    sim, raw = sims(name)
    home = sim.company.home_currency
    code, _ = ids(sim)
    standard = {"uk": "20.0% S", "ca": "GST", "au": "GST"}[name]
    body = receipt(sim, raw, [sale_line(sim, 10.0, code=code(standard)), sale_line(sim, 5.0)], home,
                   GlobalTaxCalculation="TaxExcluded")
    error = raw.fault("salesreceipt", body)
    assert error["code"] == "6000" and text in error["Detail"]
    assert error["element"] == "Line[1].SalesItemLineDetail.TaxCodeRef"
    # bills too, on their expense lines
    vendor = raw.post("vendor", {"DisplayName": "Supplier", "CurrencyRef": {"value": home}}).json()["Vendor"]
    bill = {"VendorRef": {"value": vendor["Id"]}, "CurrencyRef": {"value": home}, "GlobalTaxCalculation": "TaxExcluded",
            "Line": [sale_line(sim, 12.0, detail_type="ItemBasedExpenseLineDetail")]}
    error = raw.fault("bill", bill)
    assert error["code"] == "6000" and error["element"] == "Line[0].ItemBasedExpenseLineDetail.TaxCodeRef"


def test_canada_refuses_a_transaction_code_alone(sims):
    sim, raw = sims("ca")
    code, _ = ids(sim)
    body = receipt(sim, raw, [sale_line(sim, 10.0)], "CAD", GlobalTaxCalculation="TaxExcluded",
                   TxnTaxDetail={"TxnTaxCodeRef": code("HST ON")})
    error = raw.fault("salesreceipt", body)
    assert error["code"] == "6000" and "One or more transaction lines do not have a tax code" in error["Detail"]


def test_us_lines_take_only_tax_or_non(sims):
    sim, raw = sims("us")
    body = receipt(sim, raw, [sale_line(sim, 10.0, code={"value": "8"})], "USD")
    error = raw.fault("salesreceipt", body)
    assert error["code"] == "6100" and error["Message"] == "Invalid Line TaxCode in the request"
    assert "Supplied value: 8" in error["Detail"]


def test_us_automated_sales_tax_honours_the_given_tax_and_computes_it_otherwise(sims):
    sim, raw = sims("us")
    lines = [sale_line(sim, 100.0, code={"value": "TAX"}), sale_line(sim, 50.0, code={"value": "NON"})]
    given = raw.post("salesreceipt", receipt(sim, raw, lines, "USD", TxnTaxDetail={"TotalTax": 7.26}))
    assert given.status_code == 200 and given.json()["SalesReceipt"]["TotalAmt"] == 157.26
    lines = [sale_line(sim, 100.0), sale_line(sim, 50.0, code={"value": "NON"})]  # no code counts as TAX
    computed = raw.post("salesreceipt", receipt(sim, raw, lines, "USD", ShipAddr={"CountrySubDivisionCode": "CA"}))
    assert computed.json()["SalesReceipt"]["TxnTaxDetail"]["TotalTax"] == 7.25


def test_global_documents_need_a_valid_global_tax_calculation(sims):
    sim, raw = sims("uk")
    code, _ = ids(sim)
    lines = [sale_line(sim, 10.0, code=code("20.0% S"))]
    assert raw.fault("salesreceipt", receipt(sim, raw, lines, "GBP"))["code"] == "2020"
    assert raw.fault("salesreceipt", receipt(sim, raw, lines, "GBP", GlobalTaxCalculation="TaxIncluded"))[
        "code"] == "2170"
    error = raw.fault("salesreceipt", receipt(sim, raw, lines, "GBP", GlobalTaxCalculation="NotApplicable",
                                              TxnTaxDetail={"TotalTax": 2}))
    assert error["code"] == "6170"


def test_codes_must_fit_the_side_of_the_transaction(sims):
    sim, raw = sims("uk")
    code, _ = ids(sim)
    # 20.0% ECG is a purchase-only code (tax.md §2)
    error = raw.fault("salesreceipt", receipt(sim, raw, [sale_line(sim, 10.0, code=code("20.0% ECG"))], "GBP",
                                              GlobalTaxCalculation="TaxExcluded"))
    assert error["code"] == "6470"
    assert raw.fault("salesreceipt", receipt(sim, raw, [sale_line(sim, 10.0, code={"value": "9999"})], "GBP",
                                             GlobalTaxCalculation="TaxExcluded"))["code"] == "2500"


def test_tax_is_computed_per_line_from_the_codes_so_a_wrong_code_gives_a_wrong_total(sims):
    sim, raw = sims("uk")
    code, _ = ids(sim)
    mixed = [sale_line(sim, 20.0, 2, code("20.0% S")), sale_line(sim, 9.99, 1, code("0.0% Z"), sku="BOOK-CHAI"),
             sale_line(sim, 3.33, 1, code("5.0% R"))]
    right = raw.post("salesreceipt", receipt(sim, raw, mixed, "GBP", GlobalTaxCalculation="TaxExcluded")).json()
    assert right["SalesReceipt"]["TxnTaxDetail"]["TotalTax"] == 4.17  # 4.00 + 0 + 0.17 (0.1665 rounded per line)
    assert right["SalesReceipt"]["TotalAmt"] == 37.49
    wrong = [sale_line(sim, 20.0, 2, code("0.0% Z")), *mixed[1:]]
    answer = raw.post("salesreceipt", receipt(sim, raw, wrong, "GBP", GlobalTaxCalculation="TaxExcluded")).json()
    assert answer["SalesReceipt"]["TotalAmt"] == 33.49


def test_the_reference_worked_examples_give_the_reference_totals(sims):
    """tax.md §3 Example A (VAT-inclusive receipt with a TaxLine override) and Example B (exclusive bill)."""
    sim, raw = sims("uk")
    code, rate = ids(sim)
    sales_rate = rate("20.0% S (sales)")
    lines = [sale_line(sim, 20.00, 2, code("20.0% S"), TaxInclusiveAmt=24.00),
             sale_line(sim, 3.32, 1, code("20.0% S"), sku="SOCKS-3PK", TaxInclusiveAmt=3.99)]
    example_a = receipt(sim, raw, lines, "GBP", GlobalTaxCalculation="TaxInclusive", TxnTaxDetail={
        "TotalTax": 4.67, "TaxLine": [{"DetailType": "TaxLineDetail", "Amount": 4.67, "TaxLineDetail": {
            "TaxRateRef": sales_rate, "PercentBased": True, "TaxPercent": 20, "NetAmountTaxable": 23.32}}]})
    stored = raw.post("salesreceipt", example_a).json()["SalesReceipt"]
    assert (stored["TotalAmt"], stored["TxnTaxDetail"]["TotalTax"]) == (27.99, 4.67)
    # without the override QuickBooks' own per-line rounding is a penny short (tax.md §3 "Rounding")
    plain = {k: v for k, v in example_a.items() if k != "TxnTaxDetail"}
    assert raw.post("salesreceipt", plain).json()["SalesReceipt"]["TotalAmt"] == 27.98
    vendor = raw.post("vendor", {"DisplayName": "Acme", "CurrencyRef": {"value": "GBP"}}).json()["Vendor"]
    account = sim.entity("Account", Name="Cost of Goods Sold")
    example_b = {"VendorRef": {"value": vendor["Id"]}, "CurrencyRef": {"value": "GBP"},
                 "GlobalTaxCalculation": "TaxExcluded", "Line": [
                     sale_line(sim, 120.00, 24, code("20.0% S"), "ItemBasedExpenseLineDetail",
                               BillableStatus="NotBillable"),
                     {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 15.00, "AccountBasedExpenseLineDetail": {
                         "AccountRef": {"value": account["Id"]}, "TaxCodeRef": code("20.0% S"), "TaxAmount": 3.00}}],
                 "TxnTaxDetail": {"TotalTax": 27.00, "TaxLine": [{"DetailType": "TaxLineDetail", "Amount": 27.00,
                                  "TaxLineDetail": {"TaxRateRef": rate("20.0% S (purchases)"), "PercentBased": False,
                                                    "NetAmountTaxable": 135.00}}]}}
    bill = raw.post("bill", example_b).json()["Bill"]
    assert (bill["TotalAmt"], bill["TxnTaxDetail"]["TotalTax"]) == (162.00, 27.00)


def test_overrides_are_checked(sims):
    sim, raw = sims("ca")
    code, rate = ids(sim)
    lines = [sale_line(sim, 100.0, 1, code("GST/QST QC"))]

    def override(*tax_lines):
        return receipt(sim, raw, lines, "CAD", GlobalTaxCalculation="TaxExcluded",
                       TxnTaxDetail={"TaxLine": list(tax_lines)})

    def tax_line(rate_ref, amount, detail_type="TaxLineDetail"):
        return {"DetailType": detail_type, "Amount": amount, "TaxLineDetail": {"TaxRateRef": rate_ref}}

    gst, qst = rate("GST (sales)"), rate("QST (sales)")
    good = raw.post("salesreceipt", override(tax_line(gst, 5.00), tax_line(qst, 9.98))).json()["SalesReceipt"]
    assert good["TotalAmt"] == 114.98  # 9.975 -> 9.98 given, QuickBooks would compute the same
    # every rate of a multi-rate code must be given (tax.md §3, AST non-US page)
    assert raw.fault("salesreceipt", override(tax_line(gst, 5.00)))["code"] == "6000"
    assert raw.fault("salesreceipt", override(tax_line({"value": "999"}, 5.00)))["code"] == "2500"
    assert raw.fault("salesreceipt", override({"Amount": 5.0, "TaxLineDetail": {"TaxRateRef": gst}}))["code"] == "2020"
    # a rate no line's code uses, and an amount far from the rate's own tax, are tax-engine failures
    assert raw.fault("salesreceipt", override(tax_line(gst, 5.00), tax_line(qst, 9.98),
                                              tax_line(rate("HST ON (sales)"), 1.0)))["code"] == "6000"
    error = raw.fault("salesreceipt", override(tax_line(gst, 13.00), tax_line(qst, 9.98)))
    assert error["code"] == "6000" and "error while calculating tax" in error["Detail"]
