"""Certificate policies: a profile's policy and what a request breaks, administration."""
