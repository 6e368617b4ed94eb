"""`genlab interpolate`: a path between two codes (lerp or slerp), as a strip and a GIF."""
from genlab.render_paths import render_interpolate
from genlab.render_app import render_app

main = render_app("interpolate", render_interpolate)
