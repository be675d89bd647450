"""Certificate policy: pure functions from request facts and a policy to a verdict."""
