"""Training the project's own models (the cross-encoder re-ranker) and the data sets they use."""
