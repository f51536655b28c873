"""Jurisdiction rule packs shipped with assetquery (TOML data, read by ``assetquery._rules``)."""
