"""genlab's commands as Hydra apps, one function per command (genlab.cli dispatches to them),
and what those apps share: one-line user errors, clean stops on signals, the run's log file."""
