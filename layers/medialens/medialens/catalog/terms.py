"""How searchable words are normalised, on the way in and on the way out."""

from __future__ import annotations

WORD_PUNCTUATION = ".,;:!?\"'()[]{}"


def normalize_word(text: str) -> str:
    """Lower-case a detected word and strip surrounding punctuation, as searches expect."""
    return text.strip().strip(WORD_PUNCTUATION).lower()
