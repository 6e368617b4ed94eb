"""`genlab progress`: the training-progress GIF of a run (genlab/progress.py is the training progress bar)."""
from genlab.render_app import render_app
from genlab.render_progress import render_progress

main = render_app("progress", render_progress)
