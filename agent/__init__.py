"""The client daemon that keeps certificates on a host's disk fresh (talks HTTP only)."""
