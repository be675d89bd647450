"""Plain HTTP routes that are neither ACME nor the REST API: health and public PKI files."""
