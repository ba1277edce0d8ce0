"""The sync API routers talk to: ``/api/v1`` (docs/protocols.md section 2).

Device-token auth instead of sessions, so the blueprint is exempt from CSRF.
The machine-readable contract is docs/openapi.yaml.
"""

from __future__ import annotations

from porchlight.admin.api.routes import bp

__all__ = ["bp"]
