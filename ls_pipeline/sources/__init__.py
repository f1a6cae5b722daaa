"""Readers that turn a user's file into a DataFrame (files here; X archives in a later module)."""
