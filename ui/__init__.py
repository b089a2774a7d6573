"""Streamlit helpers shared by the pages (the only package besides screens/ that imports streamlit)."""
