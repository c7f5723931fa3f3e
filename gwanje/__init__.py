"""Gwanje (관제): operations platform of a Korean district's integrated CCTV control center."""

__version__ = "0.1.0"
