"""Porchlight: captive-portal Wi-Fi hotspot software for venues."""

__version__ = "0.1.0"
