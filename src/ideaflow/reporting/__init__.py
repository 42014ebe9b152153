"""Presentation: figures and text tables of results (never the user's global plotting state)."""
