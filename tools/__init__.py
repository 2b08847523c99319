"""Maintenance scripts for the chapters, run by hand; not part of the installed package."""
