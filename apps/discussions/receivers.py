"""Receivers of the discussions app."""
