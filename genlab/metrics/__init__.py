"""Numbers that compare runs: likelihood bounds, reconstruction error, Fréchet distances.

``reconstruction`` and ``frechet`` are plain numpy; ``elbo`` and ``features`` use TensorFlow.
"""
