"""Dashboards and charts: aggregate figures for directors, specialists and agents."""
