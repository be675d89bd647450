"""Certificate authorities: creation, administration and their CRLs."""
