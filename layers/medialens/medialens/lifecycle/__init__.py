"""What the library forgets: deleted media, and its derived data."""
