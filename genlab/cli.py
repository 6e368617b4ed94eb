"""`genlab <command> [overrides]`: hand the overrides to the command's Hydra app."""
from __future__ import annotations

import importlib
import logging
import os
import platform
import sys
from importlib import metadata
from typing import NoReturn

from genlab import __version__
from genlab.commands.arguments import hydra_arguments
from genlab.commands.app import clean_config_errors, exit_on_user_error, stopping_cleanly_on_signals

# command -> (the module of its Hydra app, one line of help); the app is the module's attribute named as the command
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("genlab.commands.train", "train a model (AE, VAE, GAN) into a new run directory, or resume one"),
    "sample": ("genlab.commands.render", "a grid of random samples from a saved run"),
    "reconstruct": ("genlab.commands.render", "test images and their reconstructions in paired rows (AE, VAE)"),
    "progress": ("genlab.commands.render", "the training-progress GIF from a run's progress frames"),
    "traverse": ("genlab.commands.render", "latent traversal: one row per dimension, a PNG and a GIF"),
    "interpolate": ("genlab.commands.render", "decode a lerp/slerp path between two codes, a strip and a GIF"),
    "manifold": ("genlab.commands.render", "an n x n grid from two latent dimensions at normal quantiles"),
    "latents": ("genlab.commands.render", "scatter by class and per-dimension histograms of test-set codes"),
    "arithmetic": ("genlab.commands.render", "add an attribute (class) vector to codes with several weights"),
    "neighbours": ("genlab.commands.render", "samples beside their nearest training images: does the model copy?"),
    "evaluate": ("genlab.commands.evaluate", "test numbers (ELBO, FD, precision/recall) of a run or of images made elsewhere"),
    "report": ("genlab.commands.evaluate", "compare the runs in a directory: table, seed groups, curves, samples"),
}


# Hydra's run modes; it accepts one per command and otherwise fails with a traceback.
HYDRA_MODES = {
    "-r": "--run", "--run": "--run",
    "-m": "--multirun", "--multirun": "--multirun",
    "-c": "--cfg", "--cfg": "--cfg",
    "-i": "--info", "--info": "--info",
    "-sc": "--shell-completion", "--shell-completion": "--shell-completion",
}  # fmt: skip


# The libraries `--version` reports, by distribution name (TensorFlow is published under several).
LIBRARIES = {
    "TensorFlow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly"),
    "Keras": ("keras",),
    "Hydra": ("hydra-core",),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: genlab <command> [RUN] [key=value ...] [--help] [--version]",
        "",
        "commands:",
        *(f"  {name.ljust(width)}  {summary}" for name, (_, summary) in COMMANDS.items()),
        "",
        "`genlab <command> --help` shows the command's config groups and keys.",
        "The commands that read a run take it as RUN or checkpoint=RUN (report: DIR or dir=DIR).",
    ]
    return "\n".join(lines)


def versions() -> str:
    """genlab's version and those of the libraries it runs on, read from the installed metadata
    (importing TensorFlow to ask it would take seconds)."""

    def installed(distributions: tuple[str, ...]) -> str:
        for distribution in distributions:
            try:
                return metadata.version(distribution)
            except metadata.PackageNotFoundError:
                continue
        return "not installed"

    libraries = [f"{name} {installed(distributions)}" for name, distributions in LIBRARIES.items()]
    return "\n".join([f"genlab {__version__}", *libraries, f"Python {platform.python_version()}"])


def main(argv: list[str] | None = None) -> int:
    """`genlab ARGS`; as the console script (no ``argv``) it also ends the process (see ``exit_process``)."""
    if argv is not None:
        return dispatch(argv)
    try:
        code = dispatch(sys.argv[1:])
    except SystemExit as stop:
        code = stop.code
    exit_process(code)


# Libraries whose clean-up at exit must run: worker processes they started (joblib, submitit),
# TensorFlow's cluster service that the other workers of a multi-worker job talk to.
_NEEDS_TEARDOWN = ("joblib", "loky", "submitit")


def exit_process(code: int | str | None) -> NoReturn:
    """End the process with ``code``; once TensorFlow has run, without Python's teardown of it.

    Taking TensorFlow and Keras apart at exit costs most of a second (per command, as a
    sweep or the test suite feels it) and does nothing for a command that is done: its
    files are closed or flushed (atomic writes, checkpoints, TensorBoard writers), and the
    log and the console are flushed here.
    """
    fast = (
        isinstance(code, (int, type(None)))
        and "tensorflow" in sys.modules
        and not any(name in sys.modules for name in _NEEDS_TEARDOWN)
        and not os.environ.get("TF_CONFIG")
    )
    if not fast:
        raise SystemExit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`genlab ... | head`)
            pass
    logging.shutdown()
    os._exit(code or 0)


@stopping_cleanly_on_signals()  # Ctrl-C or SIGTERM at any moment: one line, nothing half-written
def dispatch(args: list[str]) -> int:
    """Run the command ``args`` names; its exit code (user errors end it through SystemExit)."""
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] == "--version":
        print(versions())
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"genlab: unknown command '{command}'\n\n{usage()}", file=sys.stderr)
        return 2
    if "--version" in rest:  # Hydra's own would name Hydra alone
        print(versions())
        return 0
    modes = sorted({HYDRA_MODES[arg] for arg in rest if arg in HYDRA_MODES})
    if len(modes) > 1:
        print(f"genlab: error: {' and '.join(modes)} cannot be combined; give one of them", file=sys.stderr)
        return 2
    with exit_on_user_error():
        arguments = hydra_arguments(command, rest)
    app = getattr(importlib.import_module(COMMANDS[command][0]), command)
    # Hydra reads its overrides from sys.argv.
    sys.argv = [f"genlab {command}", *arguments]
    with clean_config_errors(command):
        app()
    return 0


if __name__ == "__main__":
    sys.exit(main())
