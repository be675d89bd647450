"""Certificate profiles: lookup, typed settings and defaults, administration."""
