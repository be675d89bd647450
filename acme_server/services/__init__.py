"""The operations of the CA, shared by ACME, the REST API and the CLI."""
