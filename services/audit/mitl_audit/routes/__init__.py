"""Audit over HTTP: reports and overrides, dataset export."""
