"""The engine: the conversation both front ends drive (settings, turns, tools, recording)."""
