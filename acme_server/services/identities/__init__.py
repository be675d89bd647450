"""Machine identities: client id/secret and access tokens, client-certificate credentials,
proof of possession."""
