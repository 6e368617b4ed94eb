"""`genlab reconstruct`: test images and their reconstructions in paired rows."""
from genlab.render_images import render_reconstruct
from genlab.render_app import render_app

main = render_app("reconstruct", render_reconstruct)
