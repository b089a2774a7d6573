"""Composing results: the report tables, plain sentences, the methods note, the export bundle."""
