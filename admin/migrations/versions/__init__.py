"""Porchlight."""
