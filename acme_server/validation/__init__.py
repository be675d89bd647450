"""Challenge validation: the checks a worker runs before an authorization turns valid.

config.py    ValidationConfig (ports, allow-listed networks, nameservers, limits)
errors.py    ValidationFailure: an RFC 8555 section 6.7 problem type + a safe detail
netguard.py  which addresses may be contacted (private/reserved refused by default)
resolver.py  DNS lookups (A/AAAA, TXT, CAA) over dnspython, failures as "dns" problems
targets.py   identifiers and redirect Locations -> checked fetch targets
http01.py    RFC 8555 section 8.3 HTTP-01, connecting only to addresses netguard passed
worker.py    claims validation jobs from the store and runs the checks above
"""
