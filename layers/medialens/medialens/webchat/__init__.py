"""The web chat's page: published to its bucket at deploy."""
