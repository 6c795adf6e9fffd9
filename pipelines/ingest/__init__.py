"""Raw ingestion: one module per source group (fetch, expectations, extra metadata), one factory, one fallback."""
