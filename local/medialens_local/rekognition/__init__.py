"""A local service speaking Amazon Rekognition's JSON protocol, answered by real models."""
