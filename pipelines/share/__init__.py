"""Sharing with the bureaus: the resource catalogue (共享目录), recipients and entitlements, requests for conditional
data, per-recipient extracts, the portal (``sewershare serve``: pages and the Delta Sharing protocol) and the audit
trail. See docs/sharing.md.

Everything here is downstream of publication (``["published", "warehouse"]``); the portal reads only the extracts,
the catalogue and its own state store, never the warehouse.
"""
