"""Human users of the web console: accounts (accounts.py) and sign-in sessions (sessions.py)."""
