"""`genlab traverse`: latent traversal, one row per dimension, as a PNG and a GIF."""
from genlab.render_paths import render_traverse
from genlab.render_app import render_app

main = render_app("traverse", render_traverse)
