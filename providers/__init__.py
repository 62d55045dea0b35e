"""Wire protocols of the model providers, normalized into one stream of events."""
