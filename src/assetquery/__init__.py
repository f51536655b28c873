"""assetquery: asset inquiry orchestration for court enforcement."""
