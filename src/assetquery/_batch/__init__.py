"""Batch lookups: reading the clerk's CSV/JSONL input and running it resumably.

``_input`` reads and validates rows (a bad row is rejected with its line and reason, the rest
go on); ``_runner`` writes results as they arrive and resumes without duplicates.
"""
