"""`genlab sample`: a grid of random samples from a saved run."""
from genlab.render_images import render_sample
from genlab.render_app import render_app

main = render_app("sample", render_sample)
