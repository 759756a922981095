"""Company profiles: the country, tax preferences, tax agencies, tax rates and tax codes a real QuickBooks Online
company of each kind has, as ../shared/reference/quickbooks-tax.md §1-2 lists them.

* ``us``: US sales tax with automated sales tax on (PartnerTaxEnabled, §1 "Detection"; ``us-manual``: off); lines
  carry the pseudo codes TAX/NON, which ``SELECT * FROM TaxCode`` does not return (§1, Torqvoice PR #329); the
  company's own codes are tax groups usable as ``TxnTaxCodeRef``.
* ``uk``: VAT (§2 "UK codes"), home GBP, multicurrency on. Sales and purchase rates have different Ids (§2, the
  real "20.0% S" row of PHP-SDK#48).
* ``ca``: GST/HST/PST (§2 "CA codes"), home CAD.
* ``au``: GST (§2 "AU codes"), home AUD.

A code is (Name, Description, sales rate names, purchase rate names); a rate is (Name, RateValue, agency,
SpecialTaxType). Percentages are as QuickBooks shows them (20 for 20%).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Profile:
    name: str
    country: str  # CompanyInfo.Country: US files say "US"; "GB" for the UK is [UNVERIFIED] in §1
    home_currency: str
    legal_address: dict
    agencies: tuple[str, ...]
    rates: tuple[tuple[str, str, str, str], ...]  # Name, RateValue, agency, SpecialTaxType
    codes: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]
    #: fault 6000 text for a line without a code (§4 table; AU wording is [UNVERIFIED], modelled on UK/CA)
    missing_code_text: str = ""
    automated_sales_tax: bool = False
    exchange_rates: dict = field(default_factory=dict)

    @property
    def us(self) -> bool:
        return self.country == "US"


_VAT = "Make sure all your transactions have a VAT rate before you save."

UK = Profile(
    name="uk",
    country="GB",
    home_currency="GBP",
    legal_address={"Line1": "1 Tea Lane", "City": "Leeds", "PostalCode": "LS1 1AA", "Country": "GB"},
    agencies=("HMRC",),
    rates=(
        ("20.0% S (sales)", "20", "HMRC", "NONE"),
        ("20.0% S (purchases)", "20", "HMRC", "NONE"),
        ("5.0% R (sales)", "5", "HMRC", "NONE"),
        ("5.0% R (purchases)", "5", "HMRC", "NONE"),
        ("0.0% Z (sales)", "0", "HMRC", "ZERO_RATE"),
        ("0.0% Z (purchases)", "0", "HMRC", "ZERO_RATE"),
        ("Exempt (sales)", "0", "HMRC", "NONE"),
        ("Exempt (purchases)", "0", "HMRC", "NONE"),
        ("No VAT (sales)", "0", "HMRC", "NONE"),
        ("No VAT (purchases)", "0", "HMRC", "NONE"),
        ("0.0% ECG (sales)", "0", "HMRC", "ZERO_RATE"),
        ("0.0% ECS (sales)", "0", "HMRC", "ZERO_RATE"),
        ("20.0% ECG (purchases)", "20", "HMRC", "REVERSE_CHARGE"),
        ("20.0% ECS (purchases)", "20", "HMRC", "REVERSE_CHARGE"),
    ),
    codes=(
        ("20.0% S", "Standard", ("20.0% S (sales)",), ("20.0% S (purchases)",)),
        ("5.0% R", "Reduced", ("5.0% R (sales)",), ("5.0% R (purchases)",)),
        ("0.0% Z", "Zero-rated", ("0.0% Z (sales)",), ("0.0% Z (purchases)",)),
        ("Exempt", "Exempt", ("Exempt (sales)",), ("Exempt (purchases)",)),
        ("No VAT", "Outside the scope of VAT", ("No VAT (sales)",), ("No VAT (purchases)",)),
        ("0.0% ECG", "EC goods zero-rated", ("0.0% ECG (sales)",), ()),
        ("0.0% ECS", "EC services zero-rated", ("0.0% ECS (sales)",), ()),
        # purchases only (support.zed-systems.com a262, §2 "Sales vs purchase codes")
        ("20.0% ECG", "EC goods standard", (), ("20.0% ECG (purchases)",)),
        ("20.0% ECS", "EC services standard", (), ("20.0% ECS (purchases)",)),
    ),
    missing_code_text=_VAT,
    exchange_rates={"GBP": "1", "USD": "0.7865", "EUR": "0.8456", "CAD": "0.5753", "AUD": "0.5183"},
)

CA = Profile(
    name="ca",
    country="CA",
    home_currency="CAD",
    legal_address={"Line1": "100 King St W", "City": "Toronto", "CountrySubDivisionCode": "ON",
                   "PostalCode": "M5X 1A9", "Country": "CA"},
    agencies=("Canada Revenue Agency", "Revenu Québec", "Minister of Finance (BC)"),
    rates=(
        ("GST (sales)", "5", "Canada Revenue Agency", "NONE"),
        ("GST (purchases)", "5", "Canada Revenue Agency", "NONE"),
        ("HST ON (sales)", "13", "Canada Revenue Agency", "NONE"),
        ("HST ON (purchases)", "13", "Canada Revenue Agency", "NONE"),
        ("HST NS (sales)", "15", "Canada Revenue Agency", "NONE"),
        ("HST NS (purchases)", "15", "Canada Revenue Agency", "NONE"),
        ("QST (sales)", "9.975", "Revenu Québec", "NONE"),
        ("QST (purchases)", "9.975", "Revenu Québec", "NONE"),
        ("PST BC (sales)", "7", "Minister of Finance (BC)", "NONE"),
        ("Zero-rated (sales)", "0", "Canada Revenue Agency", "ZERO_RATE"),
        ("Zero-rated (purchases)", "0", "Canada Revenue Agency", "ZERO_RATE"),
        ("Exempt (sales)", "0", "Canada Revenue Agency", "NONE"),
        ("Exempt (purchases)", "0", "Canada Revenue Agency", "NONE"),
        ("Out of scope (sales)", "0", "Canada Revenue Agency", "NONE"),
        ("Out of scope (purchases)", "0", "Canada Revenue Agency", "NONE"),
    ),
    codes=(
        ("GST", "GST", ("GST (sales)",), ("GST (purchases)",)),
        ("HST ON", "HST Ontario", ("HST ON (sales)",), ("HST ON (purchases)",)),
        ("HST NS", "HST Nova Scotia", ("HST NS (sales)",), ("HST NS (purchases)",)),
        # a two-rate code: its tax is GST plus QST (14.975%)
        ("GST/QST QC", "GST/QST Quebec", ("GST (sales)", "QST (sales)"), ("GST (purchases)", "QST (purchases)")),
        ("PST BC", "PST British Columbia", ("PST BC (sales)",), ()),
        ("GST/PST BC", "GST/PST British Columbia", ("GST (sales)", "PST BC (sales)"), ("GST (purchases)",)),
        ("Z", "Zero-rated", ("Zero-rated (sales)",), ("Zero-rated (purchases)",)),
        ("E", "Exempt", ("Exempt (sales)",), ("Exempt (purchases)",)),
        ("Out of scope", "Out of scope", ("Out of scope (sales)",), ("Out of scope (purchases)",)),
    ),
    missing_code_text="Make sure all your transactions have a GST/HST rate before you save.",
    exchange_rates={"CAD": "1", "USD": "1.3670", "GBP": "1.7382", "EUR": "1.4849", "AUD": "0.9008"},
)

AU = Profile(
    name="au",
    country="AU",
    home_currency="AUD",
    legal_address={"Line1": "1 George St", "City": "Sydney", "CountrySubDivisionCode": "NSW",
                   "PostalCode": "2000", "Country": "AU"},
    agencies=("Australian Taxation Office",),
    rates=(
        ("GST (sales)", "10", "Australian Taxation Office", "NONE"),
        ("GST (purchases)", "10", "Australian Taxation Office", "NONE"),
        ("GST-free (sales)", "0", "Australian Taxation Office", "ZERO_RATE"),
        ("GST-free (purchases)", "0", "Australian Taxation Office", "ZERO_RATE"),
        ("GST-free exports (sales)", "0", "Australian Taxation Office", "ZERO_RATE"),
        ("Input taxed (sales)", "0", "Australian Taxation Office", "NONE"),
        ("Input taxed (purchases)", "0", "Australian Taxation Office", "NONE"),
        ("Out of scope (sales)", "0", "Australian Taxation Office", "NONE"),
        ("Out of scope (purchases)", "0", "Australian Taxation Office", "NONE"),
        ("GST on capital (purchases)", "10", "Australian Taxation Office", "NONE"),
    ),
    codes=(
        ("GST", "GST", ("GST (sales)",), ("GST (purchases)",)),
        ("GST-free", "GST free", ("GST-free (sales)",), ("GST-free (purchases)",)),
        ("GST-free exports", "GST free exports", ("GST-free exports (sales)",), ()),
        ("Input taxed", "Input taxed", ("Input taxed (sales)",), ("Input taxed (purchases)",)),
        ("0% Out of Scope", "Out of scope", ("Out of scope (sales)",), ("Out of scope (purchases)",)),
        ("GST on capital", "GST on capital", (), ("GST on capital (purchases)",)),
    ),
    missing_code_text="Make sure all your transactions have a GST rate before you save.",
    exchange_rates={"AUD": "1", "USD": "1.5175", "GBP": "1.9295", "EUR": "1.6483", "CAD": "1.1101"},
)

US = Profile(
    name="us",
    country="US",
    home_currency="USD",
    legal_address={"Line1": "2600 Marine Way", "City": "Mountain View", "CountrySubDivisionCode": "CA",
                   "PostalCode": "94043", "Country": "US"},
    agencies=("California Department of Tax and Fee Administration", "New York State Department of Taxation"),
    rates=(
        ("California state", "7.25", "California Department of Tax and Fee Administration", "NONE"),
        ("New York state", "4", "New York State Department of Taxation", "NONE"),
        ("New York City", "4.875", "New York State Department of Taxation", "NONE"),
    ),
    # US TaxCodes are tax groups for TxnTaxCodeRef; lines use TAX/NON (§1 "US model")
    codes=(
        ("California", "California sales tax", ("California state",), ()),
        ("New York City", "NY state + city", ("New York state", "New York City"), ()),
    ),
    automated_sales_tax=True,
    exchange_rates={"USD": "1", "GBP": "1.2714", "EUR": "1.0862", "CAD": "0.7315", "AUD": "0.6590"},
)

#: a US company on manual sales tax (created before automated sales tax, tax.md §3 "US"): the rate comes from the
#: transaction's tax code (TxnTaxCodeRef)
US_MANUAL = replace(US, name="us-manual", automated_sales_tax=False)

PROFILES = {p.name: p for p in (US, UK, CA, AU, US_MANUAL)}
