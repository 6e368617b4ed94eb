"""`genlab latents`: scatter and histograms of the test set's latent codes."""
from genlab.render_latents import render_latents
from genlab.render_app import render_app

main = render_app("latents", render_latents)
