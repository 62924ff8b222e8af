"""Engines voice the director's decisions: scripted (offline phrase banks) or an LLM."""
