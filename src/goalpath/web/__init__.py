"""Shared web assets: base templates and vendored static files (see static/vendor/VERSIONS.md)."""
