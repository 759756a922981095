"""Alerts: a webhook and/or an email when a pass ends with failures, cannot complete, or its credentials stop
working; at most one per condition per ``alerts.every_minutes`` (default 60), remembered in the state store so a
daemon restart does not repeat them.

The webhook gets JSON (connection, flow, condition, failures grouped by reason with counts); the email the same
as text. Neither carries a link (messages are stripped of URLs) nor a secret (the configured secrets are masked):
alerts travel through chat rooms and mailboxes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import smtplib
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from connex.commands import _failures
from connex.state.store import StateStore

log = logging.getLogger(__name__)

KEY_PREFIX = "alert:"
_URL = re.compile(r"\bhttps?://\S+", re.IGNORECASE)
SEND_TIMEOUT = 10


class Alerts:
    def __init__(self, settings: dict, state: StateStore, *, connection: str, secrets=()):
        self.settings = settings or {}
        self.state = state
        self.connection = self.settings.get("connection") or connection
        self.secrets = [s for s in secrets if s]
        self.every = dt.timedelta(minutes=int(self.settings.get("every_minutes", 60)))

    @property
    def enabled(self) -> bool:
        return bool(self.settings.get("webhook") or self.settings.get("email"))

    # --- conditions ----------------------------------------------------------------------------------------
    def after_pass(self, reports) -> list[str]:
        """Alert for each flow that failed documents, stopped early or lost its credentials; the conditions
        alerted on (those within the quiet period are left out)."""
        sent = []
        for report in reports:
            if report.incomplete:
                credentials = report.refused
                condition = "credentials" if credentials else "incomplete"
                what = ("the credentials (or a remote setting) were rejected" if credentials
                        else "the pass could not complete")
                if self.send(condition, report.flow, f"{report.flow}: {what}: {report.incomplete}", []):
                    sent.append(f"{condition}:{report.flow}")
            if report.failures:
                n = len(report.failures)
                summary = f"{report.flow}: {n} document{'s' if n != 1 else ''} failed"
                if self.send("failures", report.flow, summary, report.failures):
                    sent.append(f"failures:{report.flow}")
        return sent

    def pass_failed(self, flow: str | None, message: str) -> bool:
        """A pass that could not run at all (the source or target unreachable before any flow ran)."""
        return self.send("incomplete", flow, f"the pass could not complete: {message}", [])

    # --- sending -------------------------------------------------------------------------------------------
    def _clean(self, text: str) -> str:
        text = _URL.sub("[link removed]", str(text))
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def payload(self, condition: str, flow: str | None, summary: str, failures) -> dict:
        groups = [{"reason": self._clean(g.kind), "count": g.count,
                   "subjects": {self._clean(k): v for k, v in g.subjects.most_common()},
                   "fix": self._clean(g.fix) if g.fix else None,
                   "documents": [self._clean(d) for d in g.documents]}
                  for g in _failures.group(failures)]
        return {"connection": self.connection, "flow": flow, "condition": condition, "summary": self._clean(summary),
                "failures": groups, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}

    def send(self, condition: str, flow: str | None, summary: str, failures) -> bool:
        if not self.enabled:
            return False
        key = f"{KEY_PREFIX}{condition}:{flow or '-'}" if condition != "credentials" else f"{KEY_PREFIX}credentials"
        last = self.state.get(key)
        now = dt.datetime.now(dt.UTC)
        if last and now - dt.datetime.fromisoformat(last) < self.every:
            log.info("alert %s not sent: one went out at %s (alerts.every_minutes)", key[len(KEY_PREFIX):], last)
            return False
        body = self.payload(condition, flow, summary, failures)
        delivered = False
        if self.settings.get("webhook"):
            delivered |= self._webhook(body)
        if self.settings.get("email"):
            delivered |= self._email(body)
        if delivered:
            self.state.put(key, now.isoformat(timespec="seconds"))
        return delivered

    def _webhook(self, body: dict) -> bool:
        request = urllib.request.Request(self.settings["webhook"], data=json.dumps(body).encode("utf-8"),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as answer:
                answer.read()
            return True
        except (OSError, ValueError) as exc:  # an alert that cannot go out must not stop the sync
            log.warning("alert webhook not delivered: %s", self._clean(str(exc)))
            return False

    def _email(self, body: dict) -> bool:
        email = self.settings["email"]
        to = email["to"] if isinstance(email["to"], list) else [email["to"]]
        message = EmailMessage()
        message["Subject"] = f"[connex] {self.connection}: {body['summary']}"[:200]
        message["From"] = email["from"]
        message["To"] = ", ".join(to)
        message.set_content(text(body))
        try:
            with smtplib.SMTP(email["host"], int(email.get("port", 25)), timeout=SEND_TIMEOUT) as smtp:
                if email.get("starttls"):
                    smtp.starttls()
                if email.get("username"):
                    smtp.login(email["username"], email.get("password", ""))
                smtp.send_message(message)
            return True
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("alert email not delivered: %s", self._clean(str(exc)))
            return False


def alerts_for(config, state: StateStore) -> Alerts | None:
    """The configured alerts, named after sync.connection or the configuration's folder; None without any."""
    if not config.alerts:
        return None
    folder_name = Path(config.path).resolve().parent.name
    name = config.sync.connection or (config.name if config.name != "default" else folder_name)
    return Alerts(config.alerts, state, connection=name, secrets=config.secrets)


def text(body: dict) -> str:
    lines = [f"connection: {body['connection']}", f"flow: {body['flow'] or '-'}", f"condition: {body['condition']}",
             f"at: {body['at']}", "", body["summary"]]
    for group in body["failures"]:
        subjects = ", ".join(f"{k} ({v})" for k, v in group["subjects"].items())
        lines.append(f"- {group['reason']} ({group['count']} documents){': ' + subjects if subjects else ''}")
        if group["fix"]:
            lines.append(f"  fix: {group['fix']}")
        lines.append(f"  {', '.join(group['documents'])}")
    return "\n".join(lines) + "\n"
