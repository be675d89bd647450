"""The `kms` command line: a thin layer over acme_server.services."""
