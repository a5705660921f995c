"""TwilioSmsNotifier against the Twilio sandbox; WebhookNotifier against the webhook sink."""

from __future__ import annotations

import httpx
import pytest

from app.connectors.base import Notification
from app.connectors.notify_sms import TwilioSmsNotifier
from app.connectors.notify_webhook import WebhookNotifier
from app.errors import PermanentError, TransientError
from sandboxes.sms import TwilioSandbox
from sandboxes.webhook_sink import WebhookSink

SMS = Notification(to="+447700900123", subject="Northside Physio", body="Your refund of £45.00 is on its way.")
HOOK = "/services/T000/B000/super-secret-hook-token"


def sms(client: httpx.Client, twilio: TwilioSandbox, token: str | None = None) -> TwilioSmsNotifier:
    return TwilioSmsNotifier(client, twilio.account_sid, token or twilio.auth_token, sender="+447700900999")


def test_sms_reaches_twilio_sandbox(twilio: TwilioSandbox, twilio_client: httpx.Client) -> None:
    sid = sms(twilio_client, twilio).send(SMS, "refund:RF-000123")
    assert sid.startswith("SM") and len(sid) == 34
    [message] = twilio.messages
    assert message["to"] == "+447700900123" and message["from"] == "+447700900999"
    assert message["body"] == "Northside Physio: Your refund of £45.00 is on its way."
    listed = twilio_client.get(
        f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        auth=(twilio.account_sid, twilio.auth_token),
    )
    assert listed.status_code == 200 and [m["sid"] for m in listed.json()["messages"]] == [sid]


def test_sms_via_messaging_service(twilio: TwilioSandbox, twilio_client: httpx.Client) -> None:
    notifier = TwilioSmsNotifier(twilio_client, twilio.account_sid, twilio.auth_token, sender="MG" + "a" * 32)
    notifier.send(SMS, "k")
    assert twilio.messages[0]["messaging_service_sid"] == "MG" + "a" * 32


def test_sms_bad_credentials_permanent_without_token(twilio: TwilioSandbox, twilio_client: httpx.Client) -> None:
    with pytest.raises(PermanentError) as caught:
        sms(twilio_client, twilio, token="leaked-token-xyz").send(SMS, "k")
    assert "auth token was refused" in str(caught.value)
    assert "leaked-token-xyz" not in str(caught.value)
    assert twilio.messages == []


def test_sms_bad_number_permanent_with_twilio_reason(twilio: TwilioSandbox, twilio_client: httpx.Client) -> None:
    bad = Notification(to="07700 900123", subject="", body="hello")
    with pytest.raises(PermanentError, match="21211"):
        sms(twilio_client, twilio).send(bad, "k")


def test_sms_outage_is_transient(twilio: TwilioSandbox, twilio_client: httpx.Client) -> None:
    twilio.fail_next(503)
    with pytest.raises(TransientError, match="503"):
        sms(twilio_client, twilio).send(SMS, "k")
    assert sms(twilio_client, twilio).send(SMS, "k").startswith("SM")  # recovers


def test_sms_dead_port_is_transient(twilio: TwilioSandbox, dead_client: httpx.Client) -> None:
    with pytest.raises(TransientError, match="cannot reach"):
        sms(dead_client, twilio).send(SMS, "k")


def test_slack_webhook_receives_text(sink: WebhookSink, sink_client: httpx.Client) -> None:
    note = Notification("#billing", "Deposit short", "Square payout SQP-7781-22 is £12.50 short.", {"r.pdf": b"x"})
    message_id = WebhookNotifier(sink_client, HOOK).send(note, "payout:SQP-7781-22")
    [post] = sink.received
    assert post.path == HOOK
    expected = "*Deposit short*\nSquare payout SQP-7781-22 is £12.50 short."
    assert post.payload == {"text": expected + "\n\n(Attachments not sent by chat: r.pdf)"}
    assert post.headers["Idempotency-Key"] == "payout:SQP-7781-22"
    assert message_id == WebhookNotifier(sink_client, HOOK).send(note, "payout:SQP-7781-22")


def test_teams_webhook_receives_message_card(sink: WebhookSink, sink_client: httpx.Client) -> None:
    WebhookNotifier(sink_client, HOOK, teams=True).send(Notification("", "Dispute due", "dp_1 due Friday"), "k")
    payload = sink.received[0].payload
    assert payload["@type"] == "MessageCard" and payload["title"] == "Dispute due"
    assert payload["text"] == "dp_1 due Friday"


def test_deleted_webhook_is_permanent_and_url_free(sink: WebhookSink, sink_client: httpx.Client) -> None:
    sink.respond_with(404)
    with pytest.raises(PermanentError) as caught:
        WebhookNotifier(sink_client, HOOK).send(SMS, "k")
    assert "404" in str(caught.value) and "super-secret-hook-token" not in str(caught.value)


def test_webhook_dead_port_is_transient(dead_client: httpx.Client) -> None:
    with pytest.raises(TransientError) as caught:
        WebhookNotifier(dead_client, HOOK).send(SMS, "k")
    assert "super-secret-hook-token" not in str(caught.value)
