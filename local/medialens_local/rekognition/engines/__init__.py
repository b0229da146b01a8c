"""Real models behind the local Rekognition, each loaded on first use."""
