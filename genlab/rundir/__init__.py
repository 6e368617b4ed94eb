"""The run directory, genlab's on-disk contract: its layout and saved config (layout), the lock
(lock), checkpoints (checkpoints), the training state they hold (state), the rules for
continuing a run (saved_config) and restoring one for the commands (restore).

``from genlab import rundir`` gives the layout's names and the lock, which need no TensorFlow.
"""
from genlab.rundir.layout import (
    CONFIG_FILE,
    OVERRIDES_FILE,
    CHECKPOINT_DIR,
    TENSORBOARD_DIR,
    PROGRESS_DIR,
    RENDERS_DIR,
    RUN_INFO_FILE,
    HISTORY_FILE,
    LOCK_FILE,
    CHECKPOINT_STATE_FILE,
    new_run_dir,
    MAX_JOB_DIR_NAME,
    job_dir_name,
    register_resolvers,
    save_config,
    load_config,
    load_overrides,
    has_checkpoint,
    discard_unstarted,
    save_run_info,
    load_run_info,
    checkpoint_number,
    list_checkpoints,
    named_latest_checkpoint,
    latest_checkpoint,
    latest_checkpoint_step,
)
from genlab.rundir.lock import RunLock
