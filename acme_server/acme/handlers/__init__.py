"""ACME resources, a module each: parse -> service -> render."""
