"""The catalog: key schema, term normalisation, the writer and the search."""
