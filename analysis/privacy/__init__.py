"""Every disclosure decision, nothing of it elsewhere.

- ``suppression``: minimum group size, small-cell and complementary suppression, the
  linear audit of two-way tables, estimates rows blanked when a group is small.
- ``guard``: selection (filter) guards and the report's cross-table consistency rules.
- ``export_checks``: ACRO-style output checks (min cell, dominance, residual df, rounding).
- ``export_tables``: which counts, keys and rules each researcher export table gets.
- ``csv_safety``: spreadsheet formula injection neutralised in every CSV or workbook.
"""
