"""Credit memos settled on QuickBooks Online, so no credit and no invoice balance stays open (issue 17 item 4).

One ``CreditApplicationDocument`` per credit memo, posted after it:

* **Applied to the invoice.** What the refunded order's invoice still owes (at most the credit) is settled by a
  Payment of 0 linking the invoice and the credit memo: no money moves, the invoice's balance and the credit fall
  together. [UNVERIFIED] Intuit's Payment reference page (developer.intuit.com, Payment, Line.LinkedTxn: "Invoice",
  "CreditMemo", "Check", "Expense", ...; a payment of TotalAmt 0 applying a credit memo to an invoice) is not in
  /work/shared/reference, and the docs search did not return it; quickbooks-online-api.md §7 gives only the shape
  ``LinkedTxn: TxnId, TxnType``. The simulator enforces the stricter reading (settlement.py there).
* **Paid out.** The rest of the credit (the invoice was paid: the money went back to the buyer) is paid out when
  ``payout`` (a ``map_refund_payout`` rule, else the target's ``refund_payout``) says so, the counterpart of the
  Desktop payout: a **cheque** (``check``: a Purchase of PaymentType Check) or a **cash expense**
  (``credit_card``: a Purchase of PaymentType Cash: the money left through the card processor) to the customer,
  from ``refund_account`` (or a ``map_deposit_account`` rule), booked to Accounts Receivable, and linked to the
  credit memo by the same Payment of 0. The bank falls by what went back and the customer's balance ends at 0,
  as QuickBooks' own "write a cheque to the customer, then apply it to the credit in Receive Payment" does.
  With ``none`` the rest stays as the customer's credit.

Exactly once: the cheque and the payment both carry the document's marker. The payment is found through the
credit memo's LinkedTxn (QuickBooks lists the payments applied to it); a cheque is looked for by its number before
one is written, so a run that stopped between the two links the cheque it already wrote.
"""

from __future__ import annotations

from decimal import Decimal

from connex.documents import CreditApplicationDocument, PostResult
from connex.errors import DocumentError
from connex_quickbooks_online.batch import Create, send_creates
from connex_quickbooks_online.client import quote
from connex_quickbooks_online.faults import fault_error
from connex_quickbooks_online.payloads import DOC_NUMBER_MAX, carries_marker, money, private_note, ref, where

#: refund_payout -> (Purchase.PaymentType, the Payment LinkedTxn.TxnType that links such a purchase)
PAYOUTS = {"check": ("Check", "Check"), "credit_card": ("Cash", "Expense")}
PAYOUT_METHODS = ("none", *PAYOUTS)
INVOICE_MARKER = "Connex invoice:"


class CreditSettler:
    def __init__(self, connector):
        self.target = connector

    @property
    def client(self):
        return self.target.client

    # --- look-ups (always fresh: balances move with every payment) -----------------------------------------
    def credit_memo(self, doc: CreditApplicationDocument) -> dict | None:
        number = doc.credit_number or doc.doc_number
        marker_of = _Keyed(f"credit_memo:{doc.source_id}")
        for row in self.client.query(f"SELECT * FROM CreditMemo WHERE DocNumber = {quote(number)}"):
            if carries_marker(row.get("PrivateNote"), marker_of):
                return row
        return None

    def invoice(self, doc: CreditApplicationDocument) -> dict | None:
        """The refunded order's invoice, posted by Connex (its note starts with Connex's invoice marker)."""
        if not doc.invoice_number:
            return None
        for row in self.client.query(f"SELECT * FROM Invoice WHERE DocNumber = {quote(doc.invoice_number)}"):
            if str(row.get("PrivateNote") or "").startswith(INVOICE_MARKER) and row.get("TxnStatus") != "Voided":
                return row
        return None

    def find(self, doc: CreditApplicationDocument, memo: dict | None = None) -> PostResult | None:
        """The payment that settled this credit memo, through the memo's LinkedTxn."""
        memo = memo if memo is not None else self.credit_memo(doc)
        if memo is None:
            return None
        ids = [str(link["TxnId"]) for link in memo.get("LinkedTxn") or []
               if link.get("TxnType") == "Payment" and link.get("TxnId")]
        for row in self.client.query_in("Payment", "Id", ids) if ids else ():
            if carries_marker(row.get("PrivateNote"), doc) and row.get("TxnStatus") != "Voided":
                return PostResult(doc.key, "exists", target_id=str(row["Id"]))
        return None

    # --- posting -------------------------------------------------------------------------------------------
    def settle(self, doc: CreditApplicationDocument) -> PostResult:
        memo = self.credit_memo(doc)
        if memo is None:
            raise DocumentError(f"credit memo {doc.credit_number} is not in QuickBooks (posted by Connex); its "
                                "settlement waits for it", where=where(doc, "LinkedTxn"), code="2500")
        found = self.find(doc, memo)
        if found is not None:
            return found
        remaining = Decimal(str(memo.get("RemainingCredit", memo.get("TotalAmt", 0))))
        if remaining <= 0:
            raise DocumentError(f"credit memo {doc.credit_number} has no credit left in QuickBooks (applied there "
                                "already); nothing is applied again", where=where(doc, "LinkedTxn"),
                                code="already_applied")
        invoice = self.invoice(doc)
        if invoice is not None and (invoice.get("CustomerRef") or {}).get("value") != memo["CustomerRef"]["value"]:
            invoice = None  # the refund landed on another customer than its order: nothing of theirs to settle
        owed = Decimal(str(invoice.get("Balance", 0))) if invoice is not None else Decimal(0)
        applied = min(remaining, max(owed, Decimal(0)))
        lines = []
        if applied > 0:
            lines.append(_line(applied, invoice, "Invoice"))
        paid_out = Decimal(0)
        method = self.method(doc)
        if remaining > applied and method != "none":
            cheque = self.payout(doc, memo, remaining - applied, method)
            paid_out = min(Decimal(str(cheque["TotalAmt"])), remaining - applied)
            lines.append(_line(paid_out, cheque, PAYOUTS[method][1]))
        if not lines:
            # the invoice owes nothing and the credit is the customer's to keep (refund_payout: none)
            return PostResult(doc.key, "posted", target_id=None)
        lines.append(_line(applied + paid_out, memo, "CreditMemo"))
        body = {
            "CustomerRef": dict(memo["CustomerRef"]),
            "CurrencyRef": dict(memo.get("CurrencyRef") or {"value": doc.currency}),
            "TotalAmt": 0,  # no money is received: the credit memo pays the invoice and the cheque
            "PaymentRefNum": doc.doc_number[:DOC_NUMBER_MAX],
            "PrivateNote": private_note(doc, invoice is not None and f"invoice {doc.invoice_number}",
                                        paid_out and f"paid out {money(paid_out)} by {method.replace('_', ' ')}"),
            "Line": lines,
        }
        if doc.txn_date:
            body["TxnDate"] = doc.txn_date.isoformat()
        if memo.get("ExchangeRate") is not None and body["CurrencyRef"].get("value") != self._home():
            body["ExchangeRate"] = float(Decimal(str(memo["ExchangeRate"])))
        created = self._create(doc, Create(doc.key, "Payment", body))
        return PostResult(doc.key, "posted", target_id=str(created["Id"]))

    def method(self, doc: CreditApplicationDocument) -> str:
        method = doc.payout or self.target.option("refund_payout")
        if method not in PAYOUT_METHODS:
            raise DocumentError(f"refund payout {method!r} is not one of {', '.join(PAYOUT_METHODS)}",
                                where=where(doc, "payout"))
        return method

    def payout(self, doc: CreditApplicationDocument, memo: dict, amount: Decimal, method: str) -> dict:
        """The cheque (or cash expense) paying ``amount`` back to the customer: the one a stopped run wrote, else a
        new one."""
        number = doc.doc_number[:DOC_NUMBER_MAX]
        for row in self.client.query(f"SELECT * FROM Purchase WHERE DocNumber = {quote(number)}"):
            if carries_marker(row.get("PrivateNote"), doc) and row.get("TxnStatus") != "Voided":
                return row
        account_name = doc.deposit_account or self.target.config.get("refund_account")
        if not account_name:
            raise DocumentError(f"a refund paid out by {method.replace('_', ' ')} needs the account it is paid from: "
                                "set refund_account in the target, or a map_deposit_account rule",
                                where=where(doc, "deposit_account"))
        lookups = self.target.lookups
        account = lookups.account_named(account_name, where(doc, "AccountRef"))
        receivable = self._receivable(doc)
        body = {
            "PaymentType": PAYOUTS[method][0],
            "AccountRef": ref(account),
            "EntityRef": {**dict(memo["CustomerRef"]), "type": "Customer"},
            "CurrencyRef": dict(memo.get("CurrencyRef") or {"value": doc.currency}),
            "DocNumber": number,
            "PrivateNote": private_note(doc, f"refund of credit memo {doc.credit_number}"),
            "Line": [{
                "Amount": money(amount),
                "Description": f"Refund of credit memo {doc.credit_number}",
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": ref(receivable)},
            }],
        }
        if doc.txn_date:
            body["TxnDate"] = doc.txn_date.isoformat()
        if memo.get("ExchangeRate") is not None and body["CurrencyRef"].get("value") != self._home():
            body["ExchangeRate"] = float(Decimal(str(memo["ExchangeRate"])))
        return self._create(doc, Create(f"{doc.key}|payout", "Purchase", body))

    def _receivable(self, doc: CreditApplicationDocument) -> dict:
        """The Accounts Receivable account (the one in the document's currency when the company keeps several)."""
        rows = list(self.client.query("SELECT * FROM Account WHERE AccountType = 'Accounts Receivable'"))
        rows = [r for r in rows if r.get("Active", True)]
        if not rows:
            raise DocumentError("QuickBooks has no Accounts Receivable account to book the refund cheque to",
                                where=where(doc, "AccountRef"))
        same = [r for r in rows if (r.get("CurrencyRef") or {}).get("value") == doc.currency]
        return (same or rows)[0]

    def _home(self) -> str:
        return self.target.builder.options.home_currency

    def _create(self, doc: CreditApplicationDocument, create: Create) -> dict:
        for outcomes in send_creates(self.client, self.target.realm, [create]):
            for outcome in outcomes:
                if outcome.created is not None:
                    return outcome.created
                error = fault_error(outcome.fault, endpoint=f"POST batch create {outcome.entity}")
                raise DocumentError(error.message, where=where(doc, outcome.fault.element or None),
                                    code=outcome.fault.code)
        raise DocumentError("QuickBooks gave no answer for it", where=where(doc))


class _Keyed:
    def __init__(self, key: str):
        self.key = key


def _line(amount: Decimal, row: dict, txn_type: str) -> dict:
    return {"Amount": money(amount), "LinkedTxn": [{"TxnId": str(row["Id"]), "TxnType": txn_type}]}
