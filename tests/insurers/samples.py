"""Sample content shared by the insurer tests."""

REFERRAL_PDF = b"%PDF-1.4\n% referral letter\n%%EOF\n"
