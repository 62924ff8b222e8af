"""Personas: the client on the line (model, loader), the director that decides, scripted trainees."""
