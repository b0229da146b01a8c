"""What every feature uses: errors, observability, AWS clients, clock, media, settings parsing."""
