"""After a refund: the patient's e-mail reaches the SMTP server, the SMS the Twilio sandbox, staff get a
webhook alert, and the acknowledgement PDF is kept with the case."""

from __future__ import annotations

import io

from pypdf import PdfReader

from app.archive import artefact_bytes
from app.audit import SYSTEM
from app.claims.artefacts import ArtefactStore
from app.clock import FixedClock
from app.db.models import Refund
from app.domain.status import RefundReason
from app.outbox import Dispatcher
from app.refunds import service
from app.refunds.communications import SMS_TEMPLATE_KEY, ack_name
from app.refunds.service import Proposal
from app.routes import build_routes
from app.settings import set_setting
from sandboxes.sms import TwilioSandbox
from sandboxes.webhook_sink import WebhookSink
from tests.notify.conftest import SmtpServer
from tests.refunds_flow.conftest import Clinic1, set_endpoints, setup_notifications


def test_patient_email_sms_staff_alert_and_pdf(
    clinic: Clinic1, smtp: SmtpServer, twilio: TwilioSandbox, clock: FixedClock
) -> None:
    ctx = clinic.ctx
    with WebhookSink() as sink:
        set_endpoints(ctx, **setup_notifications(ctx, smtp, twilio), staff_webhook=sink.url + "/hooks/refunds")
        with ctx.db.unit_of_work() as s:  # the clinic edited its SMS wording
            set_setting(
                s,
                ctx.clock,
                SYSTEM,
                SMS_TEMPLATE_KEY,
                {"body": "Hi $patient, $amount is on its way back ($reference)."},
            )
        rid = service.propose(
            ctx,
            clinic.desk,
            Proposal(clinic.payment(2000, provider="cash"), 2000, RefundReason.PRODUCT_RETURN, "Unopened herbal tea"),
        )
        service.approve(ctx, clinic.manager, rid)

        report = Dispatcher(ctx.db, clock, build_routes(ctx)).run_once()

        assert report.sent == 3, report.errors
        alert = sink.received[0]
        assert alert.path == "/hooks/refunds" and f"RF-{rid:06d}" in alert.payload["text"]
    [mail] = smtp.mailbox.messages
    assert mail["To"] == "ada@example.org"
    assert mail["Subject"] == "Your refund of £20.00 from Jade Garden Chinese Medicine"
    body = mail.get_body()
    assert (
        body is not None and "Dear Ada Lovelace" in body.get_content() and "in cash at the desk" in body.get_content()
    )
    [sms] = twilio.messages
    assert (sms["to"], sms["body"]) == ("+447700900123", f"Hi Ada Lovelace, £20.00 is on its way back (RF-{rid:06d}).")
    assert Dispatcher(ctx.db, clock, build_routes(ctx)).run_once().sent == 0  # each message once

    with ctx.db.read() as s:
        refund = s.get(Refund, rid)
        assert refund is not None
        pdf = artefact_bytes(s, ArtefactStore(ctx.paths.archive), "refund", rid, ack_name(refund))
    assert pdf is not None
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert f"RF-{rid:06d}" in text and "Ada Lovelace" in text and "£20.00" in text
