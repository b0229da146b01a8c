"""The ML workflows' tasks: Batch Transform checks, the suggester, deploy-time artifacts."""
