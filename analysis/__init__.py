"""Peer Program Impact: the domain layer (pure Python, never imports streamlit)."""

#: The app version, recorded in every researcher bundle's manifest.
__version__ = "0.9.0"
