"""`genlab arithmetic`: add an attribute vector to codes with several weights."""
from genlab.render_paths import render_arithmetic
from genlab.render_app import render_app

main = render_app("arithmetic", render_arithmetic)
