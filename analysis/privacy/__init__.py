"""Every disclosure decision: small-cell suppression, selection guards, export checks, CSV safety."""
