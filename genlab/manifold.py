"""`genlab manifold`: an n x n grid decoded from two latent dimensions at normal quantiles."""
from genlab.render_images import render_manifold
from genlab.render_app import render_app

main = render_app("manifold", render_manifold)
