"""Image analysis: models, use cases, the Rekognition adapter, settings and wiring."""
