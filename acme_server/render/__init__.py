"""The JSON documents of the entities, one shape each, shared by the REST API and the `kms`
CLI's --json (camelCase keys, UTC ISO 8601 times ending in "Z"). No web framework here, so
the CLI imports these without the REST handlers."""
