"""Segments, message templates, campaigns, care and survey messages, and their RQ jobs."""
