"""Training: the outer loop and its compiled inner loop (trainer), batches, the step budget
(schedule), devices and strategies (runtime, cluster), the resource check before anything is
allocated (resources), summaries (hparams, console) and FLOP counts (flops).

Importing this package imports no TensorFlow; its modules that need it import it themselves.
"""
