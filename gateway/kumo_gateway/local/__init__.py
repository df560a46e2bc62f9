"""Local mode: the whole platform on one machine, function instances as local processes."""
