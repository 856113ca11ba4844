"""Measurements of the platform (``make benchmark``; issue 13 builds ``sewershare bench`` on these)."""
