"""The REST API under /api/v1: JSON in and out, camelCase keys, Bearer tokens."""
