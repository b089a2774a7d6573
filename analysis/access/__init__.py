"""Who may see and do what: the viewer's scope, accounts and sign-in, and settings."""
