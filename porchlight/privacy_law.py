"""Time limits the personal-data laws set, shared by the admin and the guest page."""

from __future__ import annotations

from datetime import timedelta

# The time the law allows to act on an erasure request. Vietnam: Decree
# 13/2023/ND-CP on personal data protection, Art. 16, has data deleted within
# 72 hours of the data subject's request; Thailand's PDPA (s. 33) asks for
# erasure without delay and its access requests (s. 30) allow 30 days. One
# product serves both countries, so the shortest limit applies to every
# tenant: 72 hours from the moment the request reached the venue's admin.
ERASURE_DEADLINE = timedelta(hours=72)
ERASURE_DEADLINE_HOURS = int(ERASURE_DEADLINE.total_seconds() // 3600)
