"""Segments: the allow-listed filter language over contacts, the builder's catalogue, saved segments."""
