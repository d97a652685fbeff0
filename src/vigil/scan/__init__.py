"""Triage of evidence: folders and archives walked, hashed and matched (see containers for archives)."""
