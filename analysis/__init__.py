"""Peer Program Impact: the domain layer (pure Python, never imports streamlit)."""
