"""What routers talk to: the sync API (`/api/v1`), enrollment and device tokens,
the ingest of router events (exactly once), and the location config routers pull.
"""
