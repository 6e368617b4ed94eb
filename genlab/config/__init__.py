"""Every command's config: the typed schemas (schema: training; render; evaluate) and the one
validator (checks). Nothing here imports TensorFlow."""
